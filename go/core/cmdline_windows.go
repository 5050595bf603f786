package core

import (
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/sys/windows"
)

// Windows passes a child one command-line string; the child splits it. Programs
// built with the Microsoft C runtime (and Go, and CommandLineToArgvW) split it by
// one set of rules, handled by quoteArg. A .bat or .cmd file is run by cmd.exe,
// which splits by other rules and expands %VARIABLES% first: quoting for the C
// runtime there lets an argument end cmd's quoting and run a command of its own
// (the "BatBadBut" flaw, CVE-2024-27980 in Node). Batch files are therefore always
// started as an explicit `cmd.exe /c` with their arguments escaped for cmd itself
// (batchCommandLine), and arguments that cannot be made safe are refused.

// maxCommandLine is CreateProcessW's limit, in UTF-16 units with the final NUL.
const maxCommandLine = 32767

// commandLine returns the application CreateProcessW runs (never nil: the search
// rules of a nil application name are not wanted) and the command line it is given.
func commandLine(path string, argv []string) (app, line string, err error) {
	if isBatch(path) {
		cmd, err := cmdExe()
		if err != nil {
			return "", "", err
		}
		line, err := batchCommandLine(cmd, path, argv[1:])
		if err != nil {
			return "", "", err
		}
		return cmd, line, checkLength(argv[0], line)
	}
	var b strings.Builder
	if err := appendProgramName(&b, argv[0]); err != nil {
		return "", "", err
	}
	for _, a := range argv[1:] {
		b.WriteByte(' ')
		b.WriteString(quoteArg(a))
	}
	return path, b.String(), checkLength(argv[0], b.String())
}

func checkLength(argv0, line string) error {
	if len(windows.StringToUTF16(line)) > maxCommandLine {
		return &Error{Code: "E2BIG", Syscall: "spawn " + argv0, Path: argv0, Errno: syscall.Errno(206),
			Msg: "spawn " + argv0 + " E2BIG: the command line is longer than Windows allows (32767 characters)"}
	}
	return nil
}

// isBatch reports whether CreateProcess would run path through cmd.exe: a .bat or
// .cmd extension in any case, also when followed by dots or spaces (which Windows
// drops from a file name: "x.bat." and "x.bat " open x.bat) or by the default data
// stream's name ("x.bat::$DATA").
func isBatch(path string) bool {
	base := filepath.Base(path)
	for {
		trimmed := strings.TrimRight(base, ". ")
		if len(trimmed) > 7 && strings.EqualFold(trimmed[len(trimmed)-7:], "::$DATA") {
			trimmed = trimmed[:len(trimmed)-7]
		}
		if trimmed == base {
			break
		}
		base = trimmed
	}
	ext := strings.ToLower(filepath.Ext(base))
	return ext == ".bat" || ext == ".cmd"
}

// cmdExe is the system's cmd.exe, named by the system directory rather than by
// %ComSpec% or PATH, which the child's environment may have changed.
func cmdExe() (string, error) {
	dir, err := windows.GetSystemDirectory()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "cmd.exe"), nil
}

// appendProgramName writes argv[0]. The C runtime takes the program name verbatim up
// to the first space or tab, or between a pair of quotes, with no escapes at all.
func appendProgramName(b *strings.Builder, name string) error {
	if strings.ContainsRune(name, '"') {
		return unsafeArg(name, 0, `a program name cannot contain '"' on Windows`)
	}
	if name == "" || strings.ContainsAny(name, " \t") {
		b.WriteString(`"` + name + `"`)
		return nil
	}
	b.WriteString(name)
	return nil
}

// quoteArg quotes one argument so that CommandLineToArgvW (and the C runtime) give
// it back unchanged: inside quotes, backslashes are literal except before a quote,
// where 2n backslashes stand for n and 2n+1 for n and a literal quote.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\v\"") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// batchCommandLine builds `cmd.exe /d /e:on /v:off /s /c ""script" args"`.
//
//   - /d: no AutoRun commands from the registry; /v:off: no !delayed! expansion, so
//     '!' is an ordinary character; /e:on: command extensions, which the %
//     neutralisation below needs; /s: cmd removes exactly the first and the last
//     quote of what follows /c and runs the rest as written.
//   - cmd tracks quoting by toggling at every '"' and treats & | < > ( ) ^ and the
//     separators (space, tab, comma, semicolon, equals) as special only outside
//     quotes. Every argument with anything but letters, digits and a few inert
//     characters is put in quotes, and a '"' inside becomes '""': the toggle-off,
//     toggle-on pair keeps everything of the argument inside quotes, and the C
//     runtime (which a batch file usually hands %* to) reads '""' inside quotes as
//     one literal quote. Backslashes before a quote are doubled for the C runtime.
//   - cmd expands %NAME% everywhere, quotes or not, before anything else. Each '%'
//     is written as '%%cd:~,%': on a command line '%%' is no variable and stays,
//     and '%cd:~,%' is an empty substring of the current directory, so cmd prints
//     one '%' and can never pair it with a later one into %NAME%.
//   - A carriage return or a line feed ends cmd's command wherever it stands, and
//     NUL cannot be passed at all: such arguments are refused (EINVAL).
//
// What the batch file sees as %1 keeps these quotes (batch files get no unquoting;
// %~1 removes the outer pair only); what a program it runs with %* parses is the
// original argument.
func batchCommandLine(cmd, script string, args []string) (string, error) {
	if strings.ContainsRune(script, '"') {
		return "", unsafeArg(script, 0, `a batch file's path cannot contain '"'`)
	}
	var b strings.Builder
	b.WriteString(`"` + cmd + `" /d /e:on /v:off /s /c ""`)
	writePercentSafe(&b, script)
	b.WriteByte('"')
	for i, a := range args {
		if !utf8.ValidString(a) {
			return "", unsafeArg(a, i+1, "an argument of a batch file must be valid UTF-8")
		}
		if strings.ContainsAny(a, "\r\n\x00") {
			return "", unsafeArg(a, i+1, "cmd.exe ends a command at a line break, so an argument of a batch file cannot contain one")
		}
		b.WriteByte(' ')
		appendBatchArg(&b, a)
	}
	b.WriteByte('"')
	return b.String(), nil
}

// batchInert are the ASCII characters that mean nothing to cmd outside quotes.
const batchInert = `-_./:\@+#`

func batchNeedsQuotes(a string) bool {
	if a == "" || strings.HasSuffix(a, `\`) {
		// An empty argument would vanish; a trailing backslash would escape the
		// closing quote of a "%~1" written by the batch file for a C-runtime program.
		return true
	}
	for _, r := range a {
		if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(batchInert, r)) {
			return true
		}
		if r == 0x7f || r >= 0x80 && r < 0xa0 {
			return true // controls
		}
	}
	return false
}

func appendBatchArg(b *strings.Builder, a string) {
	quote := batchNeedsQuotes(a)
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for _, r := range a {
		switch r {
		case '\\':
			slashes++
			b.WriteRune(r)
			continue
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes))
			b.WriteString(`""`)
		case '%':
			b.WriteString(`%%cd:~,%`)
		default:
			b.WriteRune(r)
		}
		slashes = 0
	}
	if quote {
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
}

func writePercentSafe(b *strings.Builder, s string) {
	b.WriteString(strings.ReplaceAll(s, "%", `%%cd:~,%`))
}

// unsafeArg is the typed refusal of an argument that cannot be passed safely.
func unsafeArg(a string, i int, why string) *Error {
	return usage("argv[%d] %q cannot be passed safely: %s", i, a, why)
}
