package image_test

import (
	"context"
	"fmt"
	"log"

	"github.com/faultline/faultline/targets/image"
)

// PostgreSQL from Debian's packages, FROM the cached debootstrap base; the
// first call builds (base ~36 s, then the packages), later ones find the tag.
func ExampleDebian() {
	ref, err := image.Debian(context.Background(), []string{"postgresql-15"},
		image.WithLog(log.Printf))
	if err != nil {
		log.Fatal(err) // errors.Is(err, image.ErrNoEngine): no Docker engine
	}
	fmt.Println(ref.Tag, ref.Cached)
}

// redis-server FROM scratch: the binary, its loader and libraries, taken from
// Debian's packages without installing anything on the host.
func ExampleClosure() {
	ref, err := image.Closure(context.Background(), "/usr/bin/redis-server",
		image.WithDebianPackages("redis-server"),
		image.WithCmd("--protected-mode", "no"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ref.Tag, ref.Size)
}
