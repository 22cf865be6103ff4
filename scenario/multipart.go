package scenario

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// A request's "files": a multipart/form-data body, rendered once when the
// scenario loads, as Python requests renders files= with data= (urllib3's
// encode_multipart_formdata): the form fields first, then the files, each
// part with a Content-Disposition (name and filename quoted as browsers
// and urllib3 do) and, when given, a Content-Type. Templates in the form
// values stay as markers in the rendered body and are filled in per
// request like any templated body.

// FilePart is one file of a multipart/form-data body.
type FilePart struct {
	Field       string // the form field's name
	Filename    string // sent as the part's filename
	ContentType string // the part's Content-Type; empty: none, as requests without one
	Data        []byte
}

// MultipartBody renders fields (name and value pairs, in order) and files
// as a multipart/form-data body, as Python requests does for
// data=fields, files=files, and returns it with its Content-Type. The
// boundary is random (32 hex digits, as urllib3's) and occurs in no part.
func MultipartBody(fields [][2]string, files []FilePart) (body []byte, contentType string) {
	boundary := chooseBoundary(fields, files)
	var b bytes.Buffer
	part := func(name string, filename *string, ctype string) {
		b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; " + headerParam("name", name))
		if filename != nil {
			b.WriteString("; " + headerParam("filename", *filename))
		}
		if ctype != "" {
			b.WriteString("\r\nContent-Type: " + ctype)
		}
		b.WriteString("\r\n\r\n")
	}
	for _, f := range fields {
		part(f[0], nil, "")
		b.WriteString(f[1])
		b.WriteString("\r\n")
	}
	for _, f := range files {
		part(f.Field, &f.Filename, f.ContentType)
		b.Write(f.Data)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), "multipart/form-data; boundary=" + boundary
}

// headerParam formats name="value" as urllib3's
// format_multipart_header_param (the WHATWG HTML rule): line breaks and
// double quotes are percent-encoded.
func headerParam(name, value string) string {
	return name + `="` + paramEscaper.Replace(value) + `"`
}

var paramEscaper = strings.NewReplacer("\n", "%0A", "\r", "%0D", `"`, "%22")

// chooseBoundary returns a random boundary that no field or file holds.
func chooseBoundary(fields [][2]string, files []FilePart) string {
	for {
		var r [16]byte
		rand.Read(r[:])
		bd := hex.EncodeToString(r[:])
		clash := false
		for _, f := range fields {
			clash = clash || strings.Contains(f[0], bd) || strings.Contains(f[1], bd)
		}
		for _, f := range files {
			clash = clash || bytes.Contains(f.Data, []byte(bd))
		}
		if !clash {
			return bd
		}
	}
}
