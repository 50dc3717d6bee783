#!/bin/sh
# Fails the image build when a toolchain the polyglot exercises need is missing.
set -eu
go version | grep -q 'go1\.2[1-9]'
node --version
jest --version
cargo --version
test -d /usr/share/cargo/registry
javac -version
test -f /usr/share/java/junit-platform-console-standalone.jar
test -f /usr/share/java/assertj-core.jar
cmake --version >/dev/null
g++ --version >/dev/null
test -f /usr/include/boost/date_time.hpp
