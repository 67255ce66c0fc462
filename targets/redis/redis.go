package redis

import (
	"errors"

	"github.com/faultline/faultline/targets"
)

func New(map[string]string) (targets.Target, error) { return nil, errors.New("redis: not yet") }
