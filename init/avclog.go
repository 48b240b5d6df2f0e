package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// avcPerSecond bounds how many denials a second reach the console, so that
// a container hammering at a door cannot flood it.
const avcPerSecond = 5

// forwardDenials copies the SELinux denials the kernel logs that were
// enforced (permissive=0), the refusals of containers, to the consoles: the
// kernel's own log reaches them only below the quiet level. It reads
// /dev/kmsg from its end, until PID 1 ends.
func (s *system) forwardDenials() {
	f, err := os.Open("/dev/kmsg")
	if err != nil {
		s.logf("SELinux: denials will not reach the console: %v", err)
		return
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return
	}
	s.goProtected("forward SELinux denials", func() {
		defer f.Close()
		r := bufio.NewReaderSize(f, 8192)
		window, shown, dropped := time.Now(), 0, 0
		for {
			// /dev/kmsg gives one record per read: "prio,seq,time,flags;text".
			line, err := r.ReadString('\n')
			if err != nil {
				if errors.Is(err, unix.EPIPE) { // records overwritten meanwhile
					continue
				}
				return
			}
			_, text, ok := strings.Cut(line, ";")
			if !ok || !strings.Contains(text, "avc:  denied") || !strings.Contains(text, "permissive=0") {
				continue
			}
			if time.Since(window) >= time.Second {
				if dropped > 0 {
					s.logf("SELinux: %d more denials not shown (dmesg has them)", dropped)
				}
				window, shown, dropped = time.Now(), 0, 0
			}
			if shown >= avcPerSecond {
				dropped++
				continue
			}
			shown++
			s.logf("SELinux: %s", strings.TrimSpace(text[strings.Index(text, "avc:"):]))
		}
	})
}
