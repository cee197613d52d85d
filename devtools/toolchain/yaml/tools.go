//go:build tools

// Package tools pins the Pulumi YAML language host's main package, so that `go mod tidy` keeps its requirements;
// built from this wrapper module like the CLI (devtools/pulumi_toolchain.py), into the same bin folder.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
