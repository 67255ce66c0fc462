// Command echod is the echo target's server: it echoes every line sent over
// TCP and every UDP datagram, and counts its boots in its data directory so a
// test can tell that a restarted node kept its data. It exists to test
// Faultline's faults, not as a system under test.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	port := flag.Int("port", 7000, "TCP and UDP port")
	data := flag.String("data", "/data", "data directory")
	flag.Parse()
	boots := filepath.Join(*data, "boots")
	if err := os.MkdirAll(*data, 0o755); err != nil {
		log.Fatal(err)
	}
	f, err := os.OpenFile(boots, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteString("boot\n"); err != nil {
		log.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		log.Fatal(err)
	}
	f.Close()

	addr := ":" + strconv.Itoa(*port)
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				log.Fatal(err)
			}
			_, _ = udp.WriteTo(buf[:n], from)
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("echod listening on %s (tcp and udp), data in %s", addr, *data)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, boots)
	}
}

// serve echoes lines; the line "boots" is answered with the number of times
// the server has started on this data directory.
func serve(c net.Conn, boots string) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := sc.Bytes()
		if string(line) == "boots" {
			b, err := os.ReadFile(boots)
			if err != nil {
				fmt.Fprintf(c, "error %v\n", err)
				continue
			}
			fmt.Fprintf(c, "%d\n", bytes.Count(b, []byte("\n")))
			continue
		}
		if _, err := c.Write(append(line, '\n')); err != nil {
			return
		}
	}
}
