package adminapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// OperationError is a refusal of the running Chorus: the request arrived
// and the operation failed.
type OperationError struct{ Msg string }

func (e *OperationError) Error() string { return e.Msg }

// callTimeout bounds one request; a purge of a large archive takes long.
const callTimeout = 5 * time.Minute

// Call sends one request to the socket at path and returns its result. An
// *OperationError says the service refused; any other error that it could
// not be asked.
func Call(path, cmd string, args any) (json.RawMessage, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Chorus's admin socket (is Chorus running, and CHORUS_ADMIN_SOCKET the same?): %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(callTimeout))
	req := Request{Cmd: cmd}
	if args != nil {
		if req.Args, err = json.Marshal(args); err != nil {
			return nil, err
		}
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("no answer from the admin socket: %w", err)
	}
	if !resp.OK {
		if resp.Error == "" {
			resp.Error = "failed, without a reason"
		}
		return nil, &OperationError{Msg: resp.Error}
	}
	return resp.Result, nil
}

// IsOperation reports whether err is the service's refusal.
func IsOperation(err error) bool {
	var oe *OperationError
	return errors.As(err, &oe)
}
