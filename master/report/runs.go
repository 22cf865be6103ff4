package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// RunRow is one run in PREFIX_runs.csv: its id, --profile, start and end
// (zero while it runs).
type RunRow struct {
	ID, Profile string
	Start, End  time.Time
}

// RunsCSV writes the runs file of --csv: a header and a row per run of
// this master process. Locust has no such file; glocust keeps the run's
// identity out of Locust's own CSV files (whose format tools parse) and
// writes it here, so that PREFIX_stats_history.csv, which holds every run
// of the process, can be split by the runs' start and end times. Times
// are UTC in ISO 8601 and as Unix seconds (as the history file's
// Timestamp); lines end in \r\n, as Python's csv module writes them.
func RunsCSV(w io.Writer, runs []RunRow) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	rows := [][]string{{"Run ID", "Profile", "Start Time", "Start Timestamp", "End Time", "End Timestamp"}}
	for _, r := range runs {
		rows = append(rows, append(append([]string{r.ID, r.Profile}, timeCols(r.Start)...), timeCols(r.End)...))
	}
	return cw.WriteAll(rows)
}

func timeCols(t time.Time) []string {
	if t.IsZero() {
		return []string{"", ""}
	}
	return []string{t.UTC().Format(time.RFC3339), strconv.FormatInt(t.Unix(), 10)}
}
