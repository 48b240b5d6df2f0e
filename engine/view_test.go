package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

func TestStatusText(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		st   State
		want string
	}{
		{State{}, "Created"},
		{State{Running: true, StartedAt: ago(5 * time.Minute)}, "Up 5 minutes"},
		{State{Running: true, Paused: true, StartedAt: ago(time.Hour)}, "Up About an hour (Paused)"},
		{State{Running: true, StartedAt: ago(3 * time.Second), Health: &container.Health{Status: container.Starting}}, "Up 3 seconds (health: starting)"},
		{State{Running: true, StartedAt: ago(3 * time.Second), Health: &container.Health{Status: container.Healthy}}, "Up 3 seconds (healthy)"},
		{State{ExitCode: 3, StartedAt: ago(time.Hour), FinishedAt: ago(2 * time.Minute)}, "Exited (3) 2 minutes ago"},
		{State{Restarting: true, ExitCode: 1, StartedAt: ago(time.Hour), FinishedAt: ago(time.Second)}, "Restarting (1) 1 second ago"},
		{State{Status: "removing", StartedAt: ago(time.Hour)}, "Removal In Progress"},
		{State{Dead: true, StartedAt: ago(time.Hour)}, "Dead"},
	} {
		if got := statusText(tc.st, now); got != tc.want {
			t.Errorf("statusText(%+v) = %q, want %q", tc.st, got, tc.want)
		}
	}
}

func TestMatchPort(t *testing.T) {
	for _, tc := range []struct {
		wants []string
		port  uint16
		proto string
		want  bool
	}{
		{[]string{"80"}, 80, "tcp", true},
		{[]string{"80/tcp"}, 80, "udp", false},
		{[]string{"8000-8080/udp"}, 8053, "udp", true},
		{[]string{"8000-8080"}, 8081, "tcp", false},
		{[]string{"x", "53/udp"}, 53, "udp", true},
	} {
		if got := matchPort(tc.wants, tc.port, tc.proto); got != tc.want {
			t.Errorf("matchPort(%q, %d/%s) = %v", tc.wants, tc.port, tc.proto, got)
		}
	}
}

// TestDropRuntimeParents hides /etc when only the runtime's mount points
// touched its time, as Docker's init layer does, and keeps it otherwise.
func TestDropRuntimeParents(t *testing.T) {
	etc := container.FilesystemChange{Kind: container.ChangeModify, Path: "/etc"}
	tmp := container.FilesystemChange{Kind: container.ChangeModify, Path: "/tmp"}
	added := container.FilesystemChange{Kind: container.ChangeAdd, Path: "/etc/new"}
	for _, tc := range []struct {
		in       []container.FilesystemChange
		timeOnly map[string]bool
		want     []container.FilesystemChange
	}{
		{[]container.FilesystemChange{etc, tmp}, map[string]bool{"etc": true, "tmp": true}, []container.FilesystemChange{tmp}},
		{[]container.FilesystemChange{etc, added}, map[string]bool{"etc": true}, []container.FilesystemChange{etc, added}},
		{[]container.FilesystemChange{etc}, map[string]bool{}, []container.FilesystemChange{etc}},
	} {
		if got := dropRuntimeParents(tc.in, tc.timeOnly); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("dropRuntimeParents(%v, %v) = %v, want %v", tc.in, tc.timeOnly, got, tc.want)
		}
	}
}
