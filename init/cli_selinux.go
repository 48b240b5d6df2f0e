package main

import (
	"fmt"
	"io"
	"strings"
)

// getenforceVerb prints the SELinux mode, as getenforce does.
func getenforceVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: getenforce")
		return 2
	}
	fmt.Fprintln(stdout, selinuxMode())
	return 0
}

// setenforceVerb switches SELinux between enforcing and permissive until
// the next boot, as setenforce does; [security] selinux sets the mode a
// boot starts in.
func setenforceVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: setenforce [ Enforcing | Permissive | 1 | 0 ]")
		return 2
	}
	var on bool
	switch strings.ToLower(args[0]) {
	case "1", "enforcing":
		on = true
	case "0", "permissive":
	default:
		fmt.Fprintf(stderr, "setenforce: %q is neither Enforcing (1) nor Permissive (0)\n", args[0])
		return 2
	}
	if selinuxMode() == "Disabled" {
		fmt.Fprintln(stderr, "setenforce: SELinux is disabled: no policy is loaded ([security] selinux in the config)")
		return 1
	}
	if err := setEnforce(on); err != nil {
		fmt.Fprintf(stderr, "setenforce: %v\n", err)
		return 1
	}
	return 0
}
