//go:build !linux

package atomicfile

func renameNoReplace(oldpath, newpath string) error { return linkNoReplace(oldpath, newpath) }
