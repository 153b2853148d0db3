package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// newTable returns a writer that aligns tab-separated columns on w, with
// header (tab-separated column names) as its first line. Flush writes it.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// eachPage calls list with the cursor "" and then with each next cursor it
// returns, until one is "", and row with every item of every page.
func eachPage[T any](list func(after string) ([]T, string, error), row func(T)) error {
	after := ""
	for {
		page, next, err := list(after)
		if err != nil {
			return err
		}
		for _, x := range page {
			row(x)
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// printJSON writes v to w as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
