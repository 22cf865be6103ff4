package scenario

import (
	"strings"
	"testing"
)

// errCase is a scenario (after shapeUsers) and the start of the one-line
// error it must give.
type errCase struct{ name, yaml, want string }

// checkErrors parses each case after shapeUsers and checks its error.
func checkErrors(t *testing.T, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("scenario.yaml", []byte(shapeUsers+tc.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("error = %q, want one line starting with %q", got, tc.want)
			}
		})
	}
}
