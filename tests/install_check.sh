#!/bin/sh
# tests/install_check.sh TMPDIR - `make install` and `make uninstall` as a
# packager and a user run them (tests/test_install.c runs it from the
# repository root with TAML_MAKE_VARS, the make variables of the build under
# test, e.g. SANITIZE=address,undefined, and TAML_CC_FLAGS, the compiler
# flags its programs need).
#   1. DESTDIR=TMP/dest PREFIX=/usr/local: the file list is exactly the
#      expected one (a man page per command of `taml --help`, no header of
#      src/, share/taml/ holds scripts/ only); uninstall leaves no file.
#   2. PREFIX=TMP/usr: a C program built with `pkg-config --cflags --libs
#      taml` (shared) and `--static` runs and agrees with the header, and so
#      does examples/ask_tell.c (the whole public API); the
#      installed taml finds its home under PREFIX/share/taml; man pages lint
#      clean; uninstall leaves no file.
set -eu
T=$1
MAKEV=${TAML_MAKE_VARS:-}
CCF=${TAML_CC_FLAGS:-}
fail() { echo "install_check: $*" >&2; exit 1; }
mk() { make -s --no-print-directory $MAKEV "$@" >"$T/make.log" 2>&1 || { cat "$T/make.log" >&2; fail "make $* failed"; }; }

# ---- 1. a staged install: the file list
D=$T/dest
mk install DESTDIR="$D" PREFIX=/usr/local
P=$D/usr/local
v=$(sed -n 's/^#define TAML_VERSION "\(.*\)"/\1/p' include/taml/version.h)
(cd "$P" && find . -type f -o -type l | sed 's|^\./||' | sort) > "$T/got"
{
  echo bin/taml
  for c in $(build/taml --help | awk '/^commands:/ {on = 1; next} on && NF {print $1}'); do
    [ "$c" = version ] || echo "share/man/man1/taml-$c.1"
  done
  echo share/man/man1/taml.1
  echo include/taml/taml.h
  echo include/taml/version.h
  echo lib/libtaml.a
  echo lib/libtaml.so
  echo "lib/libtaml.so.${v%%.*}"
  echo "lib/libtaml.so.$v"
  echo lib/pkgconfig/taml.pc
  echo share/taml/scripts/setup
  for f in scripts/fetch/*.py scripts/fetch/tasks/* scripts/modules/*; do echo "share/taml/$f"; done
  for f in controllers/*.tamlctrl; do [ ! -f "$f" ] || echo "share/taml/$f"; done
} | sort > "$T/want"
diff "$T/want" "$T/got" > "$T/diff" || { cat "$T/diff" >&2; fail "the installed files (>) are not the expected ones (<)"; }
[ -x "$P/bin/taml" ] || fail "bin/taml is not executable"
[ -x "$P/share/taml/scripts/modules/build-defaults" ] || fail "build-defaults is not executable"
grep -q '^prefix=/usr/local$' "$P/lib/pkgconfig/taml.pc" || fail "taml.pc does not name prefix /usr/local"
# the public headers include nothing of src/
if grep -n '#[[:space:]]*include' "$P"/include/taml/*.h | grep -v '<taml/' | grep -v '<std'; then
  fail "a public header includes a header that is not installed"
fi
mk uninstall DESTDIR="$D" PREFIX=/usr/local
left=$(cd "$D" && find . -type f -o -type l)
[ -z "$left" ] || fail "uninstall left: $left"

# ---- 2. a real prefix: build against it, run it
P=$T/usr
mk install PREFIX="$P"
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
[ "$(pkg-config --modversion taml)" = "$v" ] || fail "pkg-config --modversion is not $v"
cat > "$T/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <taml/taml.h>
int main(void)
{
    printf("header %s library %s major %d\n", TAML_VERSION, taml_api_version(), TAML_VERSION_MAJOR);
    return strcmp(TAML_VERSION, taml_api_version()) != 0;
}
C
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror $CCF $(pkg-config --cflags taml) -o "$T/hello" "$T/hello.c" $(pkg-config --libs taml) \
  || fail "cannot build a program with pkg-config --cflags --libs taml"
out=$(LD_LIBRARY_PATH="$P/lib" "$T/hello") || fail "the program failed: $out"
[ "$out" = "header $v library $v major ${v%%.*}" ] || fail "the program says: $out"
# it runs against the installed shared library, not another one
LD_LIBRARY_PATH="$P/lib" ldd "$T/hello" | grep -q "$P/lib/libtaml.so" || fail "hello is not linked with $P/lib/libtaml.so"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror $CCF $(pkg-config --cflags taml) -o "$T/hello-static" "$T/hello.c" \
  "$P/lib/libtaml.a" $(pkg-config --libs-only-other --static taml) $(pkg-config --static --libs-only-l taml | sed 's/-ltaml//') \
  || fail "cannot build a program with the static library"
"$T/hello-static" > /dev/null || fail "the static program failed"
# the example of the public API, built against the installed library
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror $CCF $(pkg-config --cflags taml) -o "$T/ask_tell" examples/ask_tell.c $(pkg-config --libs taml) \
  || fail "cannot build examples/ask_tell.c with pkg-config"
out=$(LD_LIBRARY_PATH="$P/lib" "$T/ask_tell" "$T/api.db" tests/fixtures/tasks/child-topics 2 "$T/m.taml" 2>&1) \
  || fail "examples/ask_tell failed: $out"
case $out in *"trial 2 done"*"exported $T/m.taml"*) ;; *) fail "examples/ask_tell says: $out" ;; esac
# the installed taml finds its own files under PREFIX/share/taml
out=$(env -u TAML_HOME -u TAML_DATA -u TAML_MODULES "$P/bin/taml" data list 2>&1 || true)
case $out in *"$P/share/taml/data/tasks"*) ;; *) fail "installed taml looks elsewhere for its tasks: $out" ;; esac
[ "$("$P/bin/taml" version)" = "taml $v" ] || fail "installed taml version"
# every man page formats without a warning
for m in "$P"/share/man/man1/*.1; do
  w=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
  [ -z "$w" ] || fail "$m: $w"
done
mk uninstall PREFIX="$P"
left=$(cd "$P" && find . -type f -o -type l)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install_check: ok"
