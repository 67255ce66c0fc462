// Command clockprog prints what its clock says, for the clock hook's test:
// the wall clock in Unix nanoseconds, and how long a 50 ms sleep took by
// time.Since.
package main

import (
	"fmt"
	"time"
)

func main() {
	start := time.Now()
	time.Sleep(50 * time.Millisecond)
	fmt.Println(time.Now().UnixNano(), time.Since(start).Nanoseconds())
}
