package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary command lines, environments and locust.conf files
// to Parse: it must not panic, must return either Options or an *Error, and
// must be deterministic.
func FuzzParse(f *testing.F) {
	seeds := [][3]string{
		{"-u10\x00-r=2\x00-t1h2m\x00--headless", "", ""},
		{"A\x00-u\x001\x00B", "LOCUST_USERS=5", ""},
		{"-T\x00a\x00--\x00B", "LOCUST_TAGS=[a, b]", "users = 3\n"},
		{"--exp\x003", "", "headless\n[x]\n"},
		{"-lu3", "LOCUST_HEADLESS=maybe", ""},
		{"--config-users\x00{\"user_class_name\":\"A\"}", "", "tags = [\"x\"]\n"},
		{"--host=\x00--", "LOCUST_USER_CLASSES=X Y", "host = \"a # b\" ; c\n"},
		{"-s\x001h\x00--max-frame-size\x001MiB", "GLOCUST_LOCUST_VERSION=-1", "--spawn-rate 3\n"},
		{"--autostart\x00--autoquit\x00-1", "", "foo = 1\n"},
		{"--master", "LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP=1.5 * WORKER_REPORT_INTERVAL\nLOCUST_WORKER_ADDITIONAL_WAIT_BEFORE_READY_AFTER_STOP=x", ""},
		{"-", "=", ":"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, args, env, conf string) {
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\x00")
		}
		envv := strings.Split(env, "\n")
		p := fakeFS(map[string]string{"locust.conf": conf})
		o1, err1 := p.Parse(argv, envv)
		o2, err2 := p.Parse(argv, envv)
		if err1 != nil {
			var e *Error
			if !errors.As(err1, &e) || e.Code == 0 || e.Msg == "" {
				t.Fatalf("error %v (%T) is not a usable *Error", err1, err1)
			}
			if o1 != nil {
				t.Fatal("Options returned with an error")
			}
			if err2 == nil || err1.Error() != err2.Error() {
				t.Fatalf("nondeterministic: %v vs %v", err1, err2)
			}
			return
		}
		if o1 == nil {
			t.Fatal("nil Options without an error")
		}
		if !reflect.DeepEqual(o1, o2) || err2 != nil {
			t.Fatalf("nondeterministic: %+v vs %+v (%v)", o1, o2, err2)
		}
		if !o1.Help && !o1.ShowVersion {
			if o1.SpawnRate < 0 || o1.IsSet("spawn-rate") && o1.SpawnRate == 0 || o1.ExpectWorkers < 1 || o1.Master && o1.Worker {
				t.Fatalf("invalid options accepted: %+v", o1)
			}
		}
	})
}
