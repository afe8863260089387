package web

import "io/fs"

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic("web: " + err.Error())
	}
	return sub
}
