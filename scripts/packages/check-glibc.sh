#!/bin/sh
# make check-glibc: the glibc floor of the linux-*-gnu packages.
#
#   scripts/packages/check-glibc.sh <floor> <package dir>...
#
# Fails when any ELF file there
# - needs a GLIBC_ version above <floor> (2.28: Node's own floor);
# - needs a GLIBCXX_ or CXXABI_ version above the highest that the official Node 20 binary
#   itself needs (read from `node` on PATH when it is an official build; else none allowed);
# - has a non-weak undefined symbol without a version other than Node-API's (napi_*,
#   node_api_*, given by the host): such a symbol was left unbound at link time, i.e. the
#   floor's glibc lacks it.
# Prints each file's highest requirements.
set -eu
floor=$1; shift
fail=0

# The highest version of a family (GLIBC_, GLIBCXX_, CXXABI_, GCC_) in objdump -p output.
highest() { # family, file
  objdump -p "$2" | awk -v f="$1" '$NF ~ "^" f "[0-9]" { sub("^" f, "", $NF); print $NF }' | sort -uV | tail -1
}
above() { # a b: a > b as versions
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]
}

# What Node 20's own official binary needs of libstdc++ (it links it dynamically).
node=$(readlink -f "$(command -v node)")
node_cxx=$(highest GLIBCXX_ "$node")
node_abi=$(highest CXXABI_ "$node")
echo "floor: GLIBC_$floor; node $(node --version) ($node) needs GLIBCXX_${node_cxx:-none} CXXABI_${node_abi:-none}"

for dir in "$@"; do
  for f in "$dir"/*; do
    [ -f "$f" ] && [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = "177ELF" ] || continue
    g=$(highest GLIBC_ "$f"); x=$(highest GLIBCXX_ "$f"); a=$(highest CXXABI_ "$f"); c=$(highest GCC_ "$f")
    # objdump -T: 16 hex digits, a space, 7 flag characters ("w" in the second: weak).
    unbound=$(objdump -T "$f" 2>/dev/null | awk '/\*UND\*/ && substr($0, 19, 1) != "w" && $(NF-1) !~ /^\(?(GLIBC|GLIBCXX|CXXABI|GCC)_/ { print $NF }' | grep -Ev '^(napi_|node_api_)' || true)
    printf '%-60s GLIBC_%-6s GLIBCXX_%-7s CXXABI_%-6s GCC_%-6s needed: %s\n' "$f" "${g:-none}" "${x:-none}" "${a:-none}" "${c:-none}" \
      "$(objdump -p "$f" | awk '/NEEDED/ {printf "%s ", $2}')"
    if [ -n "$g" ] && above "$g" "$floor"; then
      echo "  FAIL: needs GLIBC_$g, above the floor $floor:"; objdump -T "$f" | grep -E "GLIBC_$g\b" | sed 's/^/    /'; fail=1
    fi
    if [ -n "$x" ] && { [ -z "$node_cxx" ] || above "$x" "$node_cxx"; }; then echo "  FAIL: needs GLIBCXX_$x (node: ${node_cxx:-none})"; fail=1; fi
    if [ -n "$a" ] && { [ -z "$node_abi" ] || above "$a" "$node_abi"; }; then echo "  FAIL: needs CXXABI_$a (node: ${node_abi:-none})"; fail=1; fi
    if [ -n "$unbound" ]; then echo "  FAIL: unversioned undefined symbols (missing at the floor): $(echo $unbound)"; fail=1; fi
  done
done
[ $fail -eq 0 ] && echo "glibc floor $floor: ok" || echo "glibc floor $floor: FAILED"
exit $fail
