//go:build tools

// Package tools pins the Pulumi CLI's main package so that `go mod tidy` keeps its requirements:
// github.com/pulumi/pulumi/pkg/v3 has replace directives, so `go install pkg@version` refuses it and
// it is built from this wrapper module instead.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
