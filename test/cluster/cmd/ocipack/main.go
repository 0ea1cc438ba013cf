// Command ocipack packs a root filesystem directory into a single-layer OCI
// image archive and, optionally, imports it into the local cluster's
// containerd. These machines have no registry and no Docker engine, so every
// image the tests run is built this way.
//
//	ocipack -rootfs DIR -name docker.io/local/x:1 -o x.tar [-entrypoint /bin/x] [-cmd a,b]
//	        [-user 1000:1000] [-env K=V]... [-workdir /] [-port 8080]... [-import SOCK]
package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

type config struct {
	rootfs, name, out, user, workdir, importSock string
	entrypoint, cmd                              string
	env, ports                                   multi
}

func main() {
	var c config
	flag.StringVar(&c.rootfs, "rootfs", "", "root filesystem directory to pack")
	flag.StringVar(&c.name, "name", "", "fully qualified image name, e.g. docker.io/local/x:1")
	flag.StringVar(&c.out, "o", "", "output OCI archive (tar)")
	flag.StringVar(&c.user, "user", "", "image user (uid[:gid])")
	flag.StringVar(&c.workdir, "workdir", "/", "working directory")
	flag.StringVar(&c.entrypoint, "entrypoint", "", "comma-separated entrypoint")
	flag.StringVar(&c.cmd, "cmd", "", "comma-separated command")
	flag.Var(&c.env, "env", "environment variable K=V (repeatable)")
	flag.Var(&c.ports, "port", "exposed TCP port (repeatable)")
	flag.StringVar(&c.importSock, "import", "", "containerd socket to import the archive into (namespace k8s.io)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ocipack:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.rootfs == "" || c.name == "" || c.out == "" {
		return errors.New("-rootfs, -name and -o are required")
	}
	if !strings.Contains(strings.SplitN(c.name, "/", 2)[0], ".") {
		return fmt.Errorf("image name %q must be fully qualified (e.g. docker.io/local/x:1)", c.name)
	}
	dir, err := os.MkdirTemp(filepath.Dir(c.out), ".ocipack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}

	layerPath := filepath.Join(dir, "layer.tar")
	layerDigest, layerSize, err := writeLayer(c.rootfs, layerPath)
	if err != nil {
		return fmt.Errorf("pack %s: %w", c.rootfs, err)
	}
	if err := os.Rename(layerPath, filepath.Join(blobs, layerDigest)); err != nil {
		return err
	}

	imgCfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config":       imageConfig(c),
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerDigest}},
	}
	cfgDesc, err := writeJSONBlob(blobs, "application/vnd.oci.image.config.v1+json", imgCfg)
	if err != nil {
		return err
	}
	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        cfgDesc,
		"layers": []map[string]any{{
			"mediaType": "application/vnd.oci.image.layer.v1.tar",
			"digest":    "sha256:" + layerDigest,
			"size":      layerSize,
		}},
	}
	manDesc, err := writeJSONBlob(blobs, "application/vnd.oci.image.manifest.v1+json", manifest)
	if err != nil {
		return err
	}
	tag := c.name[strings.LastIndex(c.name, ":")+1:]
	manDesc["annotations"] = map[string]string{
		"io.containerd.image.name":          c.name,
		"org.opencontainers.image.ref.name": tag,
	}
	index := map[string]any{"schemaVersion": 2, "manifests": []any{manDesc}}
	if err := writeJSON(filepath.Join(dir, "index.json"), index); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	if err := tarDir(dir, c.out); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if c.importSock != "" {
		cmd := exec.Command("ctr", "--address", c.importSock, "-n", "k8s.io", "images", "import", "--no-unpack=false", c.out)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("import %s: %w", c.out, err)
		}
	}
	return nil
}

func imageConfig(c config) map[string]any {
	cfg := map[string]any{"WorkingDir": c.workdir}
	if c.user != "" {
		cfg["User"] = c.user
	}
	if c.entrypoint != "" {
		cfg["Entrypoint"] = strings.Split(c.entrypoint, ",")
	}
	if c.cmd != "" {
		cfg["Cmd"] = strings.Split(c.cmd, ",")
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg["Env"] = append(env, c.env...)
	if len(c.ports) > 0 {
		ports := map[string]struct{}{}
		for _, p := range c.ports {
			ports[p+"/tcp"] = struct{}{}
		}
		cfg["ExposedPorts"] = ports
	}
	return cfg
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func writeJSONBlob(blobs, mediaType string, v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	d := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(blobs, d), b, 0o644); err != nil {
		return nil, err
	}
	return map[string]any{"mediaType": mediaType, "digest": "sha256:" + d, "size": len(b)}, nil
}

// writeLayer writes the rootfs as an uncompressed tar, in sorted order, with
// owners, modes (including setuid bits), symlinks and hard links preserved.
func writeLayer(root, out string) (digest string, size int64, err error) {
	f, err := os.Create(out)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	tw := tar.NewWriter(cw)
	if err := addTree(tw, root, true); err != nil {
		return "", 0, err
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, f.Close()
}

func tarDir(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := addTree(tw, dir, false); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

type inode struct{ dev, ino uint64 }

func addTree(tw *tar.Writer, root string, keepOwners bool) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	seen := map[inode]string{}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.ModTime = time.Unix(0, 0)
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		st, _ := fi.Sys().(*syscall.Stat_t)
		if !keepOwners {
			hdr.Uid, hdr.Gid = 0, 0
		}
		if st != nil && fi.Mode().IsRegular() && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := seen[key]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				hdr.Size = 0
			} else {
				seen[key] = hdr.Name
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			if err := copyFile(tw, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
