package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTable(t *testing.T) {
	in := `goos: linux
BenchmarkAPIKey/floor-2     	 1000	       300.0 ns/op	     368 B/op	       2 allocs/op
BenchmarkAPIKey/gatehouse-2 	 1000	       400.0 ns/op	     368 B/op	       2 allocs/op
BenchmarkAPIKey/floor-2     	 1000	       310.0 ns/op	     368 B/op	       2 allocs/op
BenchmarkAPIKey/gatehouse-2 	 1000	       420.0 ns/op	     368 B/op	       2 allocs/op
BenchmarkAPIKey/floor-2     	 1000	       900.0 ns/op	     368 B/op	       2 allocs/op
BenchmarkAPIKey/gatehouse-2 	 1000	       410.0 ns/op	     368 B/op	       2 allocs/op
PASS
`
	var out strings.Builder
	require.NoError(t, run(strings.NewReader(in), &out))
	got := out.String()
	assert.Contains(t, got, "**APIKey** (3 runs)")
	assert.Contains(t, got, "| floor | 310 | 368 | 2.00 | 0.76 |", "median, not mean: the 900 outlier does not count")
	assert.Contains(t, got, "| **gatehouse** | 410 | 368 | 2.00 | 1.00 |")
	assert.Error(t, run(strings.NewReader("nothing here"), &out))
}
