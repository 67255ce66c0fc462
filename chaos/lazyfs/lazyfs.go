//go:build linux

// Package lazyfs is a FUSE file system, served by the harness, that mirrors
// a backing directory but keeps what is written to a file in memory until
// the file is fsynced, as Jepsen's lazyfs does. LoseUnsynced throws that
// memory away: what a node wrote without fsync is gone, as after a power
// cut, and what it fsynced is on the backing directory.
//
// The model: file data (writes, truncations) is buffered per inode in pages
// until fsync (or fdatasync) of that file; metadata (create, rename,
// unlink, mkdir, chmod) goes straight through to the backing directory, as
// if it were journaled at once. Reads see the buffered data. Losing the
// buffers remounts the file system, so that no page the kernel cached from
// before the loss survives it.
package lazyfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FsType is the type the mounts carry in /proc/mounts ("fuse.<FsType>"),
// by which `faultline clean` finds them.
const FsType = "faultline-lazyfs"

const pageSize = 4096

// FS is one mounted lazyfs.
type FS struct {
	mnt, backing, source string

	mu     sync.Mutex
	server *fuse.Server
	nodes  []*node
	closed bool
}

// Mount serves backing at mnt (both directories, created if missing).
// source names the mount in /proc/mounts (e.g. faultline-<run>-n1), so that
// a harness killed outright leaves mounts that can be told apart.
func Mount(mnt, backing, source string) (*FS, error) {
	for _, d := range []string{mnt, backing} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("lazyfs: %w", err)
		}
	}
	f := &FS{mnt: mnt, backing: backing, source: source}
	if err := f.mount(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *FS) mount() error {
	var st syscall.Stat_t
	if err := syscall.Stat(f.backing, &st); err != nil {
		return fmt.Errorf("lazyfs: stat %s: %w", f.backing, err)
	}
	root := &fs.LoopbackRoot{Path: f.backing, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		n := &node{LoopbackNode: fs.LoopbackNode{RootData: r}, fs: f}
		f.mu.Lock()
		f.nodes = append(f.nodes, n)
		f.mu.Unlock()
		return n
	}
	rootNode := root.NewNode(root, nil, "", &st)
	root.RootNode = rootNode
	sec := time.Second
	srv, err := fs.Mount(f.mnt, rootNode, &fs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec,
		MountOptions: fuse.MountOptions{
			FsName: f.source, Name: FsType, DirectMount: true,
			// The harness mounts as root while the node may run as
			// another user (the local runtime's --node-user): without
			// allow_other the kernel refuses every request of the node.
			// The mount point's parents keep other users out.
			AllowOther: os.Geteuid() == 0,
		},
	})
	if err != nil {
		return fmt.Errorf("lazyfs: mount %s: %w", f.mnt, err)
	}
	f.server = srv
	return nil
}

// Dir is the mount point.
func (f *FS) Dir() string { return f.mnt }

// Backing is the directory that holds what was synced.
func (f *FS) Backing() string { return f.backing }

// Loss says what LoseUnsynced threw away.
type Loss struct {
	Files int   // files with unsynced data
	Bytes int64 // bytes of unsynced pages
}

func (l Loss) String() string {
	return fmt.Sprintf("%d unsynced KiB in %d files", (l.Bytes+1023)/1024, l.Files)
}

// Unsynced reports what LoseUnsynced would throw away now.
func (f *FS) Unsynced() Loss {
	f.mu.Lock()
	nodes := append([]*node(nil), f.nodes...)
	f.mu.Unlock()
	var l Loss
	for _, n := range nodes {
		n.mu.Lock()
		if n.c.tracked {
			l.Files++
			l.Bytes += int64(len(n.c.pages)) * pageSize
		}
		n.mu.Unlock()
	}
	return l
}

// LoseUnsynced throws away every write not fsynced since, and remounts.
// Nothing may hold a file open in the mount (stop the node first): the
// remount would fail on a busy mount.
func (f *FS) LoseUnsynced(ctx context.Context) (Loss, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return Loss{}, errors.New("lazyfs: closed")
	}
	var l Loss
	for _, n := range f.nodes {
		n.mu.Lock()
		if n.c.tracked {
			l.Files++
			l.Bytes += int64(len(n.c.pages)) * pageSize
		}
		n.c = content{}
		n.mu.Unlock()
	}
	if err := f.unmount(ctx); err != nil {
		return l, err
	}
	f.closeNodes()
	f.mu.Unlock()
	err := f.mount()
	f.mu.Lock()
	return l, err
}

// Close unmounts; unsynced data is lost, as on a crash.
func (f *FS) Close(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.unmount(ctx)
	f.closeNodes()
	return err
}

func (f *FS) closeNodes() {
	for _, n := range f.nodes {
		n.mu.Lock()
		if n.rw != nil {
			n.rw.Close()
			n.rw = nil
		}
		n.mu.Unlock()
	}
	f.nodes = nil
}

// unmount retries while the kernel still releases the files of a process
// that just died, then detaches the mount lazily.
func (f *FS) unmount(ctx context.Context) error {
	if f.server == nil {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for {
		if err = f.server.Unmount(); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		if derr := syscall.Unmount(f.mnt, syscall.MNT_DETACH); derr != nil {
			return fmt.Errorf("lazyfs: unmount %s: %w", f.mnt, errors.Join(err, derr))
		}
	}
	f.server.Wait()
	f.server = nil
	return nil
}

// Unmount detaches whatever is mounted at mnt (a mount of a harness that
// was killed outright, whose server is gone). It is what `faultline clean`
// uses.
func Unmount(mnt string) error {
	if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("unmount %s: %w", mnt, err)
	}
	return nil
}

// Mounts lists the mount points of lazyfs mounts whose source starts with
// prefix (every lazyfs mount when prefix is empty), from /proc/self/mounts.
func Mounts(prefix string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range splitLines(string(b)) {
		var src, mnt, typ string
		if _, err := fmt.Sscan(line, &src, &mnt, &typ); err != nil {
			continue
		}
		if typ == "fuse."+FsType && len(src) >= len(prefix) && src[:len(prefix)] == prefix {
			out = append(out, unescape(mnt))
		}
	}
	return out, nil
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// unescape undoes the octal escapes of /proc/mounts (\040 for a space).
func unescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := (s[i+1]-'0')*64 + (s[i+2]-'0')*8 + (s[i+3] - '0')
			b = append(b, v)
			i += 3
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Available says whether this process can mount lazyfs: root and /dev/fuse.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("lazyfs needs root (it mounts a FUSE file system per node)")
	}
	fd, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("lazyfs needs /dev/fuse: %w", err)
	}
	fd.Close()
	return nil
}

// node is a file or directory of the mount. Directories are the loopback's;
// files carry their unsynced content.
type node struct {
	fs.LoopbackNode
	fs *FS

	mu sync.Mutex
	rw *os.File // the backing file, opened at first use
	c  content
}

var (
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeLookuper  = (*node)(nil)
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeFsyncer   = (*node)(nil)
	_ fs.NodeAllocater = (*node)(nil)
)

func (n *node) backingPath() string {
	return filepath.Join(n.RootData.Path, n.Path(nil))
}

// file returns the backing file; n.mu is held.
func (n *node) file() (*os.File, syscall.Errno) {
	if n.rw != nil {
		return n.rw, 0
	}
	f, err := os.OpenFile(n.backingPath(), os.O_RDWR, 0)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	n.rw = f
	return f, 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	if errno == 0 {
		if c, ok := ch.Operations().(*node); ok {
			c.fixSize(&out.Attr)
		}
	}
	return ch, errno
}

func (n *node) fixSize(a *fuse.Attr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c.tracked {
		a.Size = uint64(n.c.size)
		a.Blocks = (a.Size + 511) / 512
	}
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, errno := n.file(); errno != 0 {
		return nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		if errno := n.truncate(0); errno != 0 {
			return nil, 0, errno
		}
	}
	return &handle{n: n}, 0, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	// Creating the file is metadata: it reaches the backing directory now
	// (the loopback does it); its data will not until fsync.
	ch, lf, _, errno := n.LoopbackNode.Create(ctx, name, flags&^syscall.O_TRUNC, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if r, ok := lf.(fs.FileReleaser); ok {
		r.Release(ctx)
	}
	c, ok := ch.Operations().(*node)
	if !ok {
		return nil, nil, 0, syscall.EIO
	}
	// The new inode is linked under n only once Create returns: open its
	// backing file by the name it was created with.
	c.mu.Lock()
	if c.rw == nil {
		rw, err := os.OpenFile(filepath.Join(n.backingPath(), name), os.O_RDWR, 0)
		if err != nil {
			c.mu.Unlock()
			return nil, nil, 0, fs.ToErrno(err)
		}
		c.rw = rw
	}
	c.mu.Unlock()
	fh, _, errno := c.Open(ctx, flags)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	c.fixSize(&out.Attr)
	return ch, fh, 0, 0
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.mu.Lock()
	rw := n.rw
	n.mu.Unlock()
	if rw != nil {
		// Open, maybe unlinked: its path may name nothing now.
		var st syscall.Stat_t
		if err := syscall.Fstat(int(rw.Fd()), &st); err != nil {
			return fs.ToErrno(err)
		}
		out.FromStat(&st)
		n.fixSize(&out.Attr)
		return 0
	}
	if errno := n.LoopbackNode.Getattr(ctx, nil, out); errno != 0 {
		return errno
	}
	n.fixSize(&out.Attr)
	return 0
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		n.mu.Lock()
		errno := n.truncate(int64(sz))
		n.mu.Unlock()
		if errno != 0 {
			return errno
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	if errno := n.LoopbackNode.Setattr(ctx, nil, in, out); errno != 0 {
		return errno
	}
	n.fixSize(&out.Attr)
	return 0
}

func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if n.IsDir() {
		d, err := os.Open(n.backingPath())
		if err != nil {
			return fs.ToErrno(err)
		}
		defer d.Close()
		return fs.ToErrno(d.Sync())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sync()
}

// Allocate is refused: programs then fall back to extending the file,
// which the buffer sees.
func (n *node) Allocate(ctx context.Context, f fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}

// content is a file's data written since its last fsync. Until the first
// write or truncation it is not tracked and the backing file is the truth.
type content struct {
	tracked bool
	size    int64 // the file's size as the program sees it
	// cut: backing bytes at or past it were truncated away and read as zero.
	cut   int64
	pages map[int64][]byte // dirty pages, pageSize each
}

// track starts buffering; n.mu is held.
func (n *node) track() syscall.Errno {
	if n.c.tracked {
		return 0
	}
	f, errno := n.file()
	if errno != 0 {
		return errno
	}
	st, err := f.Stat()
	if err != nil {
		return fs.ToErrno(err)
	}
	n.c = content{tracked: true, size: st.Size(), cut: st.Size(), pages: map[int64][]byte{}}
	return 0
}

// readAt fills dest from offset off and returns how many bytes the file
// has there; n.mu is held.
func (n *node) readAt(dest []byte, off int64) (int, syscall.Errno) {
	f, errno := n.file()
	if errno != 0 {
		return 0, errno
	}
	if !n.c.tracked {
		k, err := f.ReadAt(dest, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fs.ToErrno(err)
		}
		return k, 0
	}
	end := min(off+int64(len(dest)), n.c.size)
	if end <= off {
		return 0, 0
	}
	for pos := off; pos < end; {
		p := pos / pageSize
		pend := min((p+1)*pageSize, end)
		chunk := dest[pos-off : pend-off]
		if pg, ok := n.c.pages[p]; ok {
			copy(chunk, pg[pos-p*pageSize:])
		} else {
			clear(chunk)
			if pos < n.c.cut {
				if _, err := f.ReadAt(chunk[:min(pend, n.c.cut)-pos], pos); err != nil && !errors.Is(err, io.EOF) {
					return 0, fs.ToErrno(err)
				}
			}
		}
		pos = pend
	}
	return int(end - off), 0
}

// page returns dirty page p, reading it first; n.mu is held.
func (n *node) page(p int64) ([]byte, syscall.Errno) {
	if pg, ok := n.c.pages[p]; ok {
		return pg, 0
	}
	pg := make([]byte, pageSize)
	if p*pageSize < n.c.size {
		if _, errno := n.readAt(pg, p*pageSize); errno != 0 {
			return nil, errno
		}
	}
	n.c.pages[p] = pg
	return pg, 0
}

func (n *node) writeAt(data []byte, off int64) syscall.Errno {
	if errno := n.track(); errno != 0 {
		return errno
	}
	end := off + int64(len(data))
	for pos := off; pos < end; {
		p := pos / pageSize
		pend := min((p+1)*pageSize, end)
		pg, errno := n.page(p)
		if errno != 0 {
			return errno
		}
		copy(pg[pos-p*pageSize:], data[pos-off:pend-off])
		pos = pend
	}
	n.c.size = max(n.c.size, end)
	return 0
}

// truncate sets the size; n.mu is held.
func (n *node) truncate(sz int64) syscall.Errno {
	if errno := n.track(); errno != 0 {
		return errno
	}
	if sz < n.c.size {
		for p, pg := range n.c.pages {
			switch {
			case p*pageSize >= sz:
				delete(n.c.pages, p)
			case (p+1)*pageSize > sz:
				clear(pg[sz-p*pageSize:])
			}
		}
		n.c.cut = min(n.c.cut, sz)
	}
	n.c.size = sz
	return 0
}

// sync writes the dirty pages to the backing file and fsyncs it; n.mu is
// held.
func (n *node) sync() syscall.Errno {
	f, errno := n.file()
	if errno != 0 {
		return errno
	}
	if n.c.tracked {
		st, err := f.Stat()
		if err != nil {
			return fs.ToErrno(err)
		}
		if n.c.cut < st.Size() {
			if err := f.Truncate(n.c.cut); err != nil {
				return fs.ToErrno(err)
			}
		}
		for p, pg := range n.c.pages {
			b := pg[:min(pageSize, n.c.size-p*pageSize)]
			if _, err := f.WriteAt(b, p*pageSize); err != nil {
				return fs.ToErrno(err)
			}
		}
		if err := f.Truncate(n.c.size); err != nil {
			return fs.ToErrno(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fs.ToErrno(err)
	}
	n.c = content{}
	return 0
}

// handle is an open file; the data lives in its node.
type handle struct{ n *node }

var (
	_ fs.FileReader    = (*handle)(nil)
	_ fs.FileWriter    = (*handle)(nil)
	_ fs.FileGetattrer = (*handle)(nil)
	_ fs.FileFlusher   = (*handle)(nil)
	_ fs.FileReleaser  = (*handle)(nil)
)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	k, errno := h.n.readAt(dest, off)
	if errno != 0 {
		return nil, errno
	}
	return fuse.ReadResultData(dest[:k]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	if errno := h.n.writeAt(data, off); errno != 0 {
		return 0, errno
	}
	return uint32(len(data)), 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.n.Getattr(ctx, nil, out)
}

// Flush is close(2): it syncs nothing, as on a real file system.
func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Release(ctx context.Context) syscall.Errno { return 0 }
