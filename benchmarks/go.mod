module github.com/gatehouse-go/gatehouse/benchmarks

go 1.26.0

require github.com/gatehouse-go/gatehouse v0.0.0

replace github.com/gatehouse-go/gatehouse => ../
