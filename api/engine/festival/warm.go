package festival

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/distributeai/asyncspeech/api/engine"
)

// A warm festival process (`festival --pipe`) answers each synthesis without
// the start-up and voice loading that a text2wave run pays every time
// (measured ~0.3 s, more than the synthesis of a short sentence). The text
// never travels in the Scheme command channel: each run writes it to a file
// in the process's private temporary directory and the command names only
// that file, the voice constant and numbers this package formats. Festival
// reads the file as text to speak (tts_file), never as Scheme.

// prelude defines sd_run, which synthesises a text file into one RIFF WAV the
// way text2wave does (each utterance's samples appended, header patched at
// the end), and sd_say, which writes a line to stdout and flushes it
// (festival's own stdout is buffered when it is a pipe).
const prelude = `(gc-status nil)
(defvar sd_fp nil)
(defvar sd_n 0)
(defvar sd_utt nil)
(define (sd_save utt)
  (if (eq? sd_n 0) (wave.save.header sd_fp (utt.wave utt) 'riff nil (list (list "numsamples" 0))))
  (set! sd_n (+ sd_n (get_param 'num_samples (wave.info (utt.wave utt)) 0)))
  (wave.save.data.fp (utt.wave utt) sd_fp 'riff nil)
  (set! sd_utt utt))
(define (sd_run in out)
  (set! tts_hooks (list utt.synth sd_save))
  (set! sd_fp (fopen out "wb"))
  (set! sd_n 0)
  (set! sd_utt nil)
  (tts_file in nil)
  (if sd_utt (begin (fseek sd_fp 0 0) (wave.save.header sd_fp (utt.wave sd_utt) 'riff nil (list (list "numsamples" sd_n)))))
  (fclose sd_fp))
(define (sd_say s) (let ((f (fopen "/dev/stdout" "w"))) (format f "%s\n" s) (fclose f)))
`

// Replies sd_say writes after each command.
const (
	replyOK  = "sd-ok"
	replyErr = "sd-err"
)

// maxUses restarts a process after this many runs, so whatever festival
// accumulates over a long life (its heap, open voices) stays bounded.
const maxUses = 500

// proc is one warm festival process with its private directory.
type proc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *bufio.Reader
	outFile *os.File
	dir     string
	voice   string // the festival voice it serves
	uses    int
}

// start launches festival --pipe in a minimal environment and loads the prelude.
func (e *Engine) start() (*proc, error) {
	dir, err := os.MkdirTemp("", "speechd-festival-")
	if err != nil {
		return nil, fmt.Errorf("festival: temporary directory: %w: %w", engine.ErrUnavailable, err)
	}
	if strings.ContainsAny(dir, "\"\\") { // it goes into a Scheme string
		os.RemoveAll(dir)
		return nil, fmt.Errorf("festival: temporary directory %q has a quote or backslash; set TMPDIR", dir)
	}
	// Not CommandContext: the process outlives the request that started it;
	// run kills it when a request's context ends mid-run.
	cmd := exec.Command(e.prog.Path, "--pipe")
	cmd.Env = engine.ChildEnv(e.prog.Getenv)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive speechd
	p := &proc{cmd: cmd, dir: dir}
	// stdout and stderr share one pipe, so festival's error messages arrive
	// in order, before the reply line of the command that caused them.
	pr, pw, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("festival: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	stdin, err := cmd.StdinPipe()
	if err != nil {
		pr.Close()
		pw.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("festival: %w", err)
	}
	err = engine.StartNiced(cmd, e.prog.Nice)
	pw.Close()
	if err != nil {
		pr.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("festival: starting %s: %w: %w", e.prog.Path, engine.ErrUnavailable, err)
	}
	p.stdin, p.outFile, p.out = stdin, pr, bufio.NewReader(pr)
	if _, err := io.WriteString(stdin, prelude); err != nil {
		p.kill()
		return nil, fmt.Errorf("festival: loading the prelude into %s: %w: %w", e.prog.Path, engine.ErrUnavailable, err)
	}
	return p, nil
}

// kill ends the process and removes its directory.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
	_ = p.outFile.Close()
	os.RemoveAll(p.dir)
}

// run synthesises one chunk with the given Scheme set-up (voice and
// prosody). A process that fails in a way that may leave it confused is
// killed; the caller must not reuse it then (ok false).
func (p *proc) run(ctx context.Context, setup, text string, timeout time.Duration) (wav []byte, ok bool, err error) {
	in, out := filepath.Join(p.dir, "in.txt"), filepath.Join(p.dir, "out.wav")
	_ = os.Remove(out)
	if err := os.WriteFile(in, []byte(text), 0o600); err != nil {
		return nil, true, fmt.Errorf("festival: writing the text: %w: %w", engine.ErrUnavailable, err)
	}
	p.uses++
	cmd := `(unwind-protect (begin ` + setup + ` (sd_run "` + in + `" "` + out + `") (sd_say "` + replyOK + `")) (sd_say "` + replyErr + `"))` + "\n"
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The reply is the first marker line; lines before it are festival's
	// messages about this command (the first maxStderr bytes are kept).
	type answer struct{ reply, msgs string }
	reply := make(chan answer, 1)
	go func() {
		if _, err := io.WriteString(p.stdin, cmd); err != nil {
			reply <- answer{}
			return
		}
		var msgs strings.Builder
		for {
			line, err := p.out.ReadString('\n')
			line = strings.TrimSpace(line)
			if line == replyOK || line == replyErr || err != nil {
				reply <- answer{line, msgs.String()}
				return
			}
			if msgs.Len() < maxStderr {
				msgs.WriteString(line[:min(len(line), maxStderr)] + " ")
			}
		}
	}()
	select {
	case <-ctx.Done():
		p.kill() // unblocks the reader
		<-reply
		return nil, false, fmt.Errorf("festival: run of %s stopped after at most %v: %w: %w", p.cmd.Path, timeout, engine.ErrUnavailable, ctx.Err())
	case a := <-reply:
		msgs := strings.TrimSpace(a.msgs)
		switch a.reply {
		case replyOK:
			b, err := os.ReadFile(out)
			if err != nil {
				return nil, true, fmt.Errorf("festival: %s wrote no audio: %w (festival said: %s)", p.cmd.Path, err, msgs)
			}
			return b, true, nil
		case replyErr:
			return nil, true, fmt.Errorf("festival: %s failed: %s", p.cmd.Path, msgs)
		default: // the process died or wrote something we did not ask for
			p.kill()
			return nil, false, fmt.Errorf("festival: %s stopped answering (festival said: %s): %w", p.cmd.Path, msgs, engine.ErrUnavailable)
		}
	}
}

// pool keeps idle warm processes per festival voice, so no setting one
// voice leaves behind (kal_diphone's Duration_Stretch, its lexicon and
// intonation globals) can reach another voice's audio. There are at most as
// many processes per voice as run slots.
type pool struct {
	mu     sync.Mutex
	idle   map[string][]*proc
	closed bool
}

// get returns an idle process for voice or starts one.
func (e *Engine) get(voice string) (*proc, error) {
	e.pool.mu.Lock()
	if n := len(e.pool.idle[voice]); n > 0 {
		p := e.pool.idle[voice][n-1]
		e.pool.idle[voice] = e.pool.idle[voice][:n-1]
		e.pool.mu.Unlock()
		return p, nil
	}
	closed := e.pool.closed
	e.pool.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("festival: engine closed: %w", engine.ErrUnavailable)
	}
	p, err := e.start()
	if err != nil {
		return nil, err
	}
	p.voice = voice
	return p, nil
}

// put returns a healthy process to the pool (or ends it when the engine is
// closed or it has served maxUses runs).
func (e *Engine) put(p *proc) {
	e.pool.mu.Lock()
	if !e.pool.closed && p.uses < maxUses {
		if e.pool.idle == nil {
			e.pool.idle = map[string][]*proc{}
		}
		e.pool.idle[p.voice] = append(e.pool.idle[p.voice], p)
		p = nil
	}
	e.pool.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Close ends the warm festival processes; later syntheses fail as
// unavailable. Runs in progress finish first.
func (e *Engine) Close() error {
	e.pool.mu.Lock()
	idle := e.pool.idle
	e.pool.idle, e.pool.closed = nil, true
	e.pool.mu.Unlock()
	for _, ps := range idle {
		for _, p := range ps {
			p.kill()
		}
	}
	return nil
}

// maxStderr bounds how much of festival's messages an error quotes.
const maxStderr = 512
