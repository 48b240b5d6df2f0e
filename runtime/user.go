package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
)

// credentials of a container's process.
type credentials struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

// ErrNoSuchUser is returned for a user or group the container's files do
// not name and that is not a number.
var ErrNoSuchUser = errors.New("no such user or group")

// lookupUser resolves user[:group] (names or numbers) against the
// /etc/passwd and /etc/group of the root the caller is in, as docker run -u
// does (github.com/moby/sys/user): an unknown number is taken as it is,
// with group 0; a name's supplementary groups come along. An entry that
// would decide the answer but is malformed is an error, never root.
func lookupUser(spec string) (credentials, error) {
	return lookupUserIn(spec, "/etc/passwd", "/etc/group")
}

func lookupUserIn(spec, passwd, group string) (credentials, error) {
	name, groupName, _ := strings.Cut(spec, ":")
	if err := checkEntries(passwd, name, 2); err != nil {
		return credentials{}, err
	}
	if groupName != "" {
		if err := checkEntries(group, groupName, 1); err != nil {
			return credentials{}, err
		}
	}
	home := "/"
	if name == "" {
		home = "/root"
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{Home: home}, passwd, group)
	if err != nil {
		if errors.Is(err, user.ErrNoPasswdEntries) || errors.Is(err, user.ErrNoGroupEntries) {
			return credentials{}, fmt.Errorf("%w: %s in the container's /etc/passwd and /etc/group: %w", ErrNoSuchUser, spec, err)
		}
		return credentials{}, fmt.Errorf("user %q: %w", spec, err)
	}
	c := credentials{uid: uint32(u.Uid), gid: uint32(u.Gid), home: u.Home}
	for _, g := range u.Sgids {
		c.groups = append(c.groups, uint32(g))
	}
	return c, nil
}

// checkEntries refuses a line of file (passwd or group) that names who (by
// name or number) and whose ids (the ids fields from the third) are not
// numbers: moby's parser would read them as 0, root.
func checkEntries(file, who string, ids int) error {
	if who == "" {
		who = "0"
	}
	f, err := os.Open(file)
	if err != nil {
		return nil // no file: numbers only, as Docker
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, ":")
		if p[0] != who && (len(p) < 3 || p[2] != who) {
			continue
		}
		if len(p) < 2+ids {
			return fmt.Errorf("the container's %s line %d (%q) is malformed", file, n, line)
		}
		for _, v := range p[2 : 2+ids] {
			if _, err := strconv.ParseUint(v, 10, 31); err != nil {
				return fmt.Errorf("the container's %s line %d (%q) is malformed: %q is not an id", file, n, line, v)
			}
		}
	}
	return nil
}
