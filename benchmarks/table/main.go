// Command table turns `go test -bench` output into the markdown tables of
// benchmarks/README.md: for each group of sub-benchmarks (the name up to
// its last "/"), one row per contender with the median ns/op, B/op and
// allocs/op over the runs, and the ratio to the group's reference row
// (the first of gatehouse, gatehouse-cached, cached present).
//
//	go test -run '^$' -bench . -benchmem -count 6 . | tee bench.txt
//	go run ./table < bench.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

type samples struct{ ns, bytes, allocs []float64 }

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	data := map[string]*samples{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s, ok := data[m[1]]
		if !ok {
			s = &samples{}
			data[m[1]] = s
			order = append(order, m[1])
		}
		s.ns = append(s.ns, num(m[2]))
		s.bytes = append(s.bytes, num(m[3]))
		s.allocs = append(s.allocs, num(m[4]))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark lines in the input")
	}
	groups := map[string][]string{}
	var gorder []string
	for _, name := range order {
		g, _ := split(name)
		if _, ok := groups[g]; !ok {
			gorder = append(gorder, g)
		}
		groups[g] = append(groups[g], name)
	}
	for _, g := range gorder {
		names := groups[g]
		ref := ""
		for _, want := range []string{"gatehouse", "gatehouse-cached", "cached"} {
			for _, n := range names {
				if _, c := split(n); c == want && ref == "" {
					ref = n
				}
			}
		}
		fmt.Fprintf(out, "\n**%s** (%d runs)\n\n", g, len(data[names[0]].ns))
		fmt.Fprintln(out, "| contender | ns/op | B/op | allocs/op | × reference |")
		fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: |")
		for _, n := range names {
			s := data[n]
			_, c := split(n)
			ratio := ""
			if ref != "" {
				ratio = fmt.Sprintf("%.2f", median(s.ns)/median(data[ref].ns))
			}
			if n == ref {
				c = "**" + c + "**"
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", c, fmtNum(median(s.ns)), fmtNum(median(s.bytes)), fmtNum(median(s.allocs)), ratio)
		}
	}
	return nil
}

func split(name string) (group, contender string) {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return name, name
	}
	return name[:i], name[i+1:]
}

func num(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
