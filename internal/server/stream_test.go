package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// revocationStream revokes user's sessions prefix-0 … prefix-(n-1) from 8
// concurrent clients against base. Once at least min of them got 200 it
// calls interrupt (which stops or kills the server), waits for the
// clients, and returns the ids that got 200.
func revocationStream(t *testing.T, base, key, user, prefix, reason string, n, min int, interrupt func()) []string {
	t.Helper()
	var (
		mu   sync.Mutex
		oks  []string
		wg   sync.WaitGroup
		next = make(chan int, n)
	)
	for i := range n {
		next <- i
	}
	close(next)
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := fmt.Sprintf("%s-%d", prefix, i)
				req, _ := http.NewRequest("DELETE", base+"/auth/admin/api/users/"+user+"/sessions/"+id, strings.NewReader(`{"reason":"`+reason+`"}`))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					continue // refused once the server stopped listening, or gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					oks = append(oks, id)
					mu.Unlock()
				}
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(oks) }
	checkFor(t, 20*time.Second, func() error {
		if c := count(); c < min {
			return fmt.Errorf("only %d revocations got 200 so far", c)
		}
		return nil
	})
	interrupt()
	wg.Wait()
	return oks
}
