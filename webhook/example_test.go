package webhook_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/webhook"
)

func ExampleVerify() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // from `gatehouse webhooks add`
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	now := time.Unix(1614265330, 0).Add(time.Minute)
	fmt.Println(webhook.Verify(secret, h, body, now, webhook.DefaultTolerance))
	fmt.Println(webhook.Verify(secret, h, []byte(`{"test": 1}`), now, webhook.DefaultTolerance))
	// Output:
	// <nil>
	// webhook: no matching signature
}
