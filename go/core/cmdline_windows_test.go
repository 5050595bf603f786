package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// quoteArg must survive CommandLineToArgvW exactly, for awkward and random input.
func TestWindowsQuoteArgRoundTrip(t *testing.T) {
	args := []string{"", " ", "a b", `a"b`, `a\"b`, `a\\`, `a\\"`, `\\server\share\`, `"`, `""`, "\t", `a\b c\`, "ü ✓", `\"\\"`}
	rng := rand.New(rand.NewSource(1))
	alphabet := []rune{'a', ' ', '\t', '"', '\\', 'x', 'é', '&', '%'}
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for n := rng.Intn(12); n > 0; n-- {
			b.WriteRune(alphabet[rng.Intn(len(alphabet))])
		}
		args = append(args, b.String())
	}
	for _, a := range args {
		line := "prog " + quoteArg(a) + " end"
		var argc int32
		argv, err := windows.CommandLineToArgv(windows.StringToUTF16Ptr(line), &argc)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for i := 0; i < int(argc); i++ {
			got = append(got, windows.UTF16PtrToString(&argv[i][0]))
		}
		windows.LocalFree(windows.Handle(uintptrOf(argv)))
		if len(got) != 3 || got[1] != a || got[2] != "end" {
			t.Errorf("%q quoted as %q parses back as %q", a, quoteArg(a), got)
		}
	}
}

func TestWindowsIsBatch(t *testing.T) {
	for path, want := range map[string]bool{
		`C:\x\a.bat`: true, `C:\x\a.CMD`: true, `C:\x\a.cmd.`: true, `C:\x\a.bat `: true,
		`C:\x\a.bat. . `: true, `C:\x\a.bat::$DATA`: true, `C:\x\a.Cmd::$data`: true,
		`C:\x\a.exe`: false, `C:\x\a.batx`: false, `C:\x\bat`: false, `C:\x.bat\a.exe`: false,
	} {
		if isBatch(path) != want {
			t.Errorf("isBatch(%q) = %v", path, !want)
		}
	}
}

func TestWindowsBatchRefusesUnsafeArguments(t *testing.T) {
	for _, a := range []string{"a\nb", "a\rb", "x\r\n&calc"} {
		_, err := batchCommandLine(`C:\cmd.exe`, `C:\a b\x.cmd`, []string{"ok", a})
		var e *Error
		if !errors.As(err, &e) || e.Code != "EINVAL" || !strings.Contains(e.Msg, "cannot be passed safely") {
			t.Errorf("%q: %v, want a typed EINVAL refusal", a, err)
		}
	}
	if _, err := batchCommandLine(`C:\cmd.exe`, `C:\a"b\x.cmd`, nil); err == nil {
		t.Errorf("a script path with a quote was accepted")
	}
}

// The BatBadBut vectors, through a real .cmd in a directory with spaces, started
// without a shell, also as "x.cmd." and "x.cmd " (which Windows opens as x.cmd).
// The .cmd hands its arguments (%*) to the helper, which reports its raw command
// line and argv: cmd must pass every argument through unchanged (no command of an
// argument runs, no %VAR% expands), and the helper must parse the arguments back
// exactly up to the first one with a quote ('""' inside quotes is read differently
// by different C runtimes; Go's and Wine's follow the pre-2008 rule).
func TestWindowsBatchEscapingVectors(t *testing.T) {
	problems := runBatchVectors(t, [][]string{
		{"plain", "two words", ""},
		{`"&echo INJECTED>"PWNED"`},
		{`" & echo INJECTED > "PWNED" & "`},
		{`\"&echo INJECTED>PWNED`},
		{"&echo INJECTED>PWNED", "|echo", "<x", ">PWNED", "(a)", "^"},
		{"!PWS_SECRET!", "a;b", "a,b", "a=b"},
		{`trailing\`, `C:\dir with space\`, "ü ✓", `a\\"b`, `"quoted"`},
	})
	for _, p := range problems {
		t.Error(p)
	}
}

// %VAR% in arguments must reach the batch file literally. Real cmd.exe honours the
// '%%cd:~,%' neutralisation (batchCommandLine); Wine's reimplementation of cmd
// expands differently, so under Wine a difference is reported as a skip.
func TestWindowsBatchPercentVectors(t *testing.T) {
	problems := runBatchVectors(t, [][]string{
		{"%PWS_SECRET%", "%PWS_SECRET", "100%", "%%", "%CD%", "%PWS_SECRET:~0,3%"},
	})
	if len(problems) > 0 && underWine() {
		t.Skipf("Wine's cmd.exe expands %%VAR%% unlike cmd.exe (unproven until a Windows run): %q", problems)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func runBatchVectors(t *testing.T, vectors [][]string) (problems []string) {
	h := newWinHarness(t)
	dir := tempDir(t)
	exe, _ := os.Executable()
	script := filepath.Join(dir, "echo args.cmd")
	if err := os.WriteFile(script, []byte("@echo off\r\n\""+exe+"\" "+helperArg+" "+helperName("args")+" %*\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "pwned")
	t.Setenv("PWS_SECRET", "leaked")
	for _, suffix := range []string{"", ".", " "} {
		for _, v := range vectors {
			for i := range v {
				v[i] = strings.ReplaceAll(v[i], "PWNED", marker)
			}
			argv := append([]string{script + suffix}, v...)
			c := h.start(&Options{Argv: argv, Stdout: StdioPipe, Stderr: StdioStdout})
			o := h.waitExit(c)
			out := h.stdout(c)
			if code(o) != "0" {
				problems = append(problems, fmt.Sprintf("%q: exit %s, output %q", argv, code(o), out))
				continue
			}
			var rep struct {
				W32  []string `json:"w32"`
				Line string   `json:"line"`
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rep); err != nil {
				// The outcome's drain report too: once (CI under Wine, not reproduced in 13 runs)
				// cmd exited 0 with no output at all; a drain bound would say so here.
				problems = append(problems, fmt.Sprintf("%q: output %q: %v (truncated %v, errors %q, phases %+v)", argv, out, err, o.Truncated, o.Errors, o.Phases))
				continue
			}
			if strings.Contains(out, "leaked") {
				problems = append(problems, fmt.Sprintf("%q: cmd expanded a variable: %q", argv, rep.W32))
			}
			line, _ := batchCommandLine("cmd", script, v)
			tail := line[strings.Index(line, `.cmd"`)+len(`.cmd"`) : len(line)-1]
			tail = strings.ReplaceAll(tail, "%%cd:~,%", "%")
			if !strings.HasSuffix(rep.Line, " args"+tail) {
				problems = append(problems, fmt.Sprintf("%q: the helper's command line %q does not end with the arguments as sent, %q", argv, rep.Line, tail))
			}
			for i, a := range v {
				if strings.Contains(a, `"`) {
					break
				}
				if len(rep.W32) <= i+3 || rep.W32[i+3] != a {
					problems = append(problems, fmt.Sprintf("%q: argument %d %q came through as %q", argv, i, a, rep.W32))
					break
				}
			}
		}
	}
	if _, err := os.Stat(marker); err == nil {
		problems = append(problems, "an injected command ran: "+marker+" exists")
	}
	return problems
}
