package gatehouse_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-go/gatehouse"
)

func ExampleNewContext() {
	p := &gatehouse.Principal{
		ID:       "usr_42",
		Kind:     gatehouse.KindAPIKey,
		TenantID: "org_7",
		Scopes:   []string{"projects:read"},
	}
	ctx := gatehouse.NewContext(context.Background(), p)

	if got, ok := gatehouse.FromContext(ctx); ok {
		fmt.Println(got.ID, got.TenantID, got.Kind, got.HasScope("projects:read"))
	}
	_, ok := gatehouse.FromContext(context.Background())
	fmt.Println("anonymous context has a principal:", ok)
	// Output:
	// usr_42 org_7 api_key true
	// anonymous context has a principal: false
}

func ExampleFromContext() {
	// A worker that verified a token from a queue message puts the
	// principal in the context it hands to the rest of the code.
	handle := func(ctx context.Context) string {
		p, ok := gatehouse.FromContext(ctx)
		if !ok {
			return "refused: " + gatehouse.ErrNoCredentials.Error()
		}
		return "acting as " + p.ID
	}
	fmt.Println(handle(context.Background()))
	fmt.Println(handle(gatehouse.NewContext(context.Background(), &gatehouse.Principal{ID: "svc_billing"})))
	// Output:
	// refused: gatehouse: no credentials
	// acting as svc_billing
}
