package scopes_test

import (
	"fmt"

	"github.com/gatehouse-go/gatehouse/scopes"
)

func ExampleParse() {
	list, err := scopes.Parse("projects:write, read projects:write")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", list)
	fmt.Println(scopes.Format(list))

	_, err = scopes.Parse(`read "write"`)
	fmt.Println(err)
	// Output:
	// ["projects:write" "read"]
	// projects:write read
	// scopes: invalid scope: scope 2 is empty, too long or has a character outside %x21-7E (or one of " \ ,)
}

func ExampleParseJSON() {
	fromArray, _ := scopes.ParseJSON([]byte(`["write", "read", "write"]`))
	fromString, _ := scopes.ParseJSON([]byte(`"write read"`))
	fromNull, _ := scopes.ParseJSON([]byte(`null`))
	_, err := scopes.ParseJSON([]byte(`{"scope": "read"}`))
	fmt.Println(fromArray, fromString, fromNull, err != nil)
	// Output:
	// [read write] [read write] [] true
}

func ExampleMatcher_AllOf() {
	m := scopes.MustMatcher(scopes.Implications{"admin": {"write"}, "write": {"read"}})
	req, err := m.AllOf("projects:read", "read")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req)
	fmt.Println(req.SatisfiedBy([]string{"projects:*", "admin"}))
	fmt.Println(req.SatisfiedBy([]string{"projects:read"}))
	fmt.Println(req.SatisfiedBy([]string{"projectsx:*", "write"}))
	// Output:
	// projects:read read
	// true
	// false
	// false
}

func ExampleMatcher_AnyOf() {
	req, _ := scopes.Plain.AnyOf("billing:read", "billing:admin")
	fmt.Println(req.SatisfiedBy([]string{"billing:read"}))
	fmt.Println(req.SatisfiedBy([]string{"projects:*"}))
	// Output:
	// true
	// false
}

func ExampleMatcher_Covers() {
	// A key may only be given scopes its creator holds.
	m := scopes.MustMatcher(scopes.Implications{"admin": {"write"}, "write": {"read"}})
	creator := []string{"write", "projects:*"}
	fmt.Println(m.Covers(creator, []string{"read", "projects:deploy"}))
	fmt.Println(m.Covers(creator, []string{"admin"}))
	// Output:
	// true
	// false
}

func ExampleRoles_Scopes() {
	roles := scopes.DefaultRoles()
	s, ok := roles.Scopes("editor")
	fmt.Println(s, ok)
	s, ok = roles.Scopes("owner")
	fmt.Println(s, ok)
	// Output:
	// [read write] true
	// [] false
}
