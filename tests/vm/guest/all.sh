#!/usr/bin/env bash
# Runs several guest suites in one boot (booting the debug kernel under
# emulation takes about a minute):  all.sh BUILD_DIR SUITE...
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$1
shift
for suite in "$@"; do
	echo "# suite $suite"
	"$here/$suite.sh" "$build"
done
