// Package safefile writes files into a directory without following what
// someone may have planted there. A run directory can come from anywhere (a
// downloaded CI artifact checked with `sudo faultline check`): a junit.xml
// that is a symlink to /etc/passwd must be replaced, not written through.
//
// Every function takes the directory the caller trusts (the run directory the
// user named; it may itself be a symlink, like results/latest) and a name
// inside it. The name's own components are never followed when they are
// symlinks, and nothing is written outside dir (os.Root). Whole files are
// written to a temporary file and renamed over the name; streams are created
// exclusively after removing whatever was at the name.
package safefile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// WriteFile writes data to dir/name: into a new temporary file beside it,
// then renamed over name, so a symlink or hard link planted at name is
// replaced and its target left alone.
func WriteFile(dir, name string, data []byte, perm fs.FileMode) (err error) {
	root, rel, err := open(dir, name)
	if err != nil {
		return err
	}
	defer root.Close()
	tmp, f, err := tempIn(root, rel, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	defer func() {
		if err != nil {
			_ = root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if err := root.Rename(tmp, rel); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// Create creates dir/name for writing a stream: whatever is at name (a file,
// a symlink) is removed first, and the file is created exclusively, so no
// planted link is ever opened.
func Create(dir, name string, perm fs.FileMode) (*os.File, error) {
	root, rel, err := open(dir, name)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if st, err := root.Lstat(rel); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("create %s: it is a directory", filepath.Join(dir, name))
		}
		if err := root.Remove(rel); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Join(dir, name), err)
		}
	}
	f, err := root.OpenFile(rel, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Join(dir, name), err)
	}
	return f, nil
}

// MkdirAll creates the directory dir/name and its parents inside dir,
// refusing any component that exists as a symlink or a file.
func MkdirAll(dir, name string, perm fs.FileMode) error {
	rel, err := relName(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		st, err := root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(p, perm); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create %s: %w", filepath.Join(dir, p), err)
			}
			if st, err = root.Lstat(p); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if !st.IsDir() || st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is not a directory of its own (a symlink or a file): refused", filepath.Join(dir, p))
		}
	}
	return nil
}

// open checks name and that its directories inside dir are real ones, and
// opens dir as a root.
func open(dir, name string) (*os.Root, string, error) {
	rel, err := relName(name)
	if err != nil {
		return nil, "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	parts := strings.Split(rel, "/")
	for i := range parts[:len(parts)-1] {
		p := strings.Join(parts[:i+1], "/")
		st, err := root.Lstat(p)
		if err != nil {
			root.Close()
			return nil, "", err
		}
		if !st.IsDir() || st.Mode()&fs.ModeSymlink != 0 {
			root.Close()
			return nil, "", fmt.Errorf("%s is not a directory of its own (a symlink or a file): refused", filepath.Join(dir, p))
		}
	}
	return root, rel, nil
}

// relName is name as a clean slash path that stays inside its directory.
func relName(name string) (string, error) {
	rel := path.Clean(filepath.ToSlash(name))
	if name == "" || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return "", fmt.Errorf("%q is not a name inside a directory", name)
	}
	return rel, nil
}

func tempIn(root *os.Root, rel string, perm fs.FileMode) (string, *os.File, error) {
	d, base := path.Split(rel)
	for range 10 {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		tmp := d + "." + base + "." + hex.EncodeToString(b) + ".tmp"
		f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return tmp, f, err
	}
	return "", nil, errors.New("no free temporary name")
}

// ReadFile reads a regular file of at most max bytes. A run directory may
// name /dev/zero or a FIFO where scenario.json should be: either is refused,
// as is a file larger than max, instead of reading forever.
func ReadFile(name string, max int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s has %d bytes, more than the %d MiB it may have", name, st.Size(), max>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s has more than the %d MiB it may have", name, max>>20)
	}
	return b, err
}

// Open opens a regular file for reading (not a device or a FIFO).
func Open(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", name)
		}
		return nil, err
	}
	return f, nil
}
