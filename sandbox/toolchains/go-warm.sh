#!/bin/sh
# Fills a Go build cache with the standard packages exercises' tests use, so that a test run
# (whose $HOME, and so its default cache, starts empty) need not compile them again: the
# polyglot test command copies this cache in before `go test`.
set -eu
cache=$1
work=$(mktemp -d)
cd "$work"
printf 'module warm\n\ngo 1.21\n' > go.mod
cat > warm.go <<'GO'
package warm

import (
	_ "bufio"
	_ "bytes"
	_ "cmp"
	_ "container/heap"
	_ "container/list"
	_ "errors"
	_ "fmt"
	_ "io"
	_ "maps"
	_ "math"
	_ "math/big"
	_ "math/rand"
	_ "regexp"
	_ "slices"
	_ "sort"
	_ "strconv"
	_ "strings"
	_ "sync"
	_ "time"
	_ "unicode"
	_ "unicode/utf8"
)
GO
cat > warm_test.go <<'GO'
package warm

import (
	"reflect"
	"testing"
)

func TestWarm(t *testing.T) { _ = reflect.DeepEqual(1, 1) }

func BenchmarkWarm(b *testing.B) {}
GO
GOCACHE=$cache go test ./... >/dev/null
cd /
rm -rf "$work"
chmod -R a+rX "$cache"
