package engine

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// eventLog keeps the engine's recent events, as Docker's daemon does (the
// last thousand), and hands new ones to those who follow.
type eventLog struct {
	mu        sync.Mutex
	recent    []events.Message
	followers map[chan events.Message]bool
}

const keptEvents = 1000

func newEventLog() *eventLog {
	return &eventLog{followers: map[chan events.Message]bool{}}
}

func (l *eventLog) publish(m events.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recent = append(l.recent, m)
	if len(l.recent) > keptEvents {
		l.recent = l.recent[len(l.recent)-keptEvents:]
	}
	for ch := range l.followers {
		select {
		case ch <- m:
		default: // a follower that does not keep up misses events
		}
	}
}

// Events returns the kept events since since and, with follow, a channel
// of those to come, closed when ctx ends.
func (e *Engine) Events(ctx context.Context, since time.Time, follow bool) ([]events.Message, <-chan events.Message) {
	l := e.events
	l.mu.Lock()
	var past []events.Message
	for _, m := range l.recent {
		if !since.IsZero() && time.Unix(0, m.TimeNano).Before(since) {
			continue
		}
		if since.IsZero() && follow {
			continue // docker events without --since: only what comes
		}
		past = append(past, m)
	}
	if !follow {
		l.mu.Unlock()
		return past, nil
	}
	ch := make(chan events.Message, 256)
	l.followers[ch] = true
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		l.mu.Lock()
		delete(l.followers, ch)
		l.mu.Unlock()
		close(ch)
	}()
	return past, ch
}

// event records an event of container c: its name, image and labels are
// the attributes, as Docker's.
func (e *Engine) event(kind, action string, c *Container, extra ...string) {
	attrs := map[string]string{"name": strings.TrimPrefix(c.Name, "/"), "image": c.Config.Image}
	for k, v := range c.Config.Labels {
		attrs[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i]] = extra[i+1]
	}
	e.publish(events.Type(kind), events.Action(action), c.Id, attrs)
}

// eventImage records an event of an image.
func (e *Engine) eventImage(action, ref string) {
	e.publish(events.ImageEventType, events.Action(action), ref, map[string]string{"name": ref})
}

// eventVolume records an event of a volume.
func (e *Engine) eventVolume(action, name string) {
	e.publish(events.VolumeEventType, events.Action(action), name, map[string]string{"driver": "local"})
}

func (e *Engine) publish(t events.Type, action events.Action, id string, attrs map[string]string) {
	now := time.Now()
	m := events.Message{Type: t, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}, Scope: "local",
		Time: now.Unix(), TimeNano: now.UnixNano()}
	// The fields of API 1.21 and before, which clients still read.
	m.ID, m.Status = id, string(action) //nolint:staticcheck // the old fields are what old clients read
	if t == events.ContainerEventType {
		m.From = attrs["image"] //nolint:staticcheck
	}
	e.events.publish(m)
}

// exitAttrs are the attributes of a die event.
func exitAttrs(code int) []string { return []string{"exitCode", strconv.Itoa(code)} }
