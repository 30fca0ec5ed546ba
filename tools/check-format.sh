#!/usr/bin/env bash
# Fails when a C++ file of the project differs from .clang-format (clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp')
clang-format --dry-run --Werror $files
echo "format ok: $(echo "$files" | wc -w) files"
