package credentials_test

import (
	"fmt"

	"github.com/gatehouse-go/gatehouse/credentials"
)

// Resolve settings from explicit options, the environment and the profile
// file, then say where each came from (never the token itself).
func Example() {
	r, err := credentials.Resolve(credentials.Options{
		URI:       "https://api.example.com",
		ConfigDir: "/nonexistent", // no profile file in this example
		LookupEnv: func(name string) (string, bool) {
			if name == credentials.EnvToken {
				return "cpx_live.example", true
			}
			return "", false
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
	// Output:
	// gatehouse credentials: token from environment, URI https://api.example.com from options
}
