package server

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/storage"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantHeader http.Header
	}{
		{"not found", storage.ErrNotFound, 404, nil},
		{"wrapped not found", fmt.Errorf("fs: get x: %w", storage.ErrNotFound), 404, nil},
		{"precondition", storage.ErrPreconditionFailed, 412, nil},
		{"invalid key", storage.ErrInvalidKey, 400, nil},
		{"invalid metadata", storage.ErrInvalidMetadata, 400, nil},
		{"invalid range", storage.ErrInvalidRange, 416, nil},
		{"range with size", &problem.RangeNotSatisfiableError{Size: 7, Err: storage.ErrInvalidRange}, 416,
			http.Header{"Content-Range": {"bytes */7"}}},
		{"conflict", storage.ErrConflict, 409, nil},
		{"unavailable", storage.ErrUnavailable, 503, nil},
		{"too large", &http.MaxBytesError{Limit: 5}, 413, nil},
		{"body too large", &problem.BodyReadError{Err: fmt.Errorf("x: %w", &http.MaxBytesError{Limit: 5})}, 413, nil},
		{"body broken", &problem.BodyReadError{Err: errors.New("unexpected EOF")}, 400, nil},
		{"bad request", &problem.BadRequestError{Reason: "no"}, 400, nil},
		{"method", &problem.MethodNotAllowedError{Allow: []string{"GET", "HEAD"}}, 405,
			http.Header{"Allow": {"GET, HEAD"}}},
		{"echo 404", echo.ErrNotFound, 404, nil},
		{"echo 405", echo.ErrMethodNotAllowed, 405, nil},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, 413, nil},
		{"panic", &panicError{value: "x"}, 500, nil},
		{"other", errors.New("x"), 500, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := problem.Classify(tc.err)
			if p.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d", p.Status, tc.wantStatus)
			}
			for k := range tc.wantHeader {
				if p.Header.Get(k) != tc.wantHeader.Get(k) {
					t.Errorf("header %s = %q, want %q", k, p.Header.Get(k), tc.wantHeader.Get(k))
				}
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in     string
		want   byteRange
		wantOK bool
	}{
		{"bytes=0-0", byteRange{first: 0, last: 0}, true},
		{"bytes=1-3", byteRange{first: 1, last: 3}, true},
		{" bytes = 1-3 ", byteRange{first: 1, last: 3}, true},
		{"BYTES=1-3", byteRange{first: 1, last: 3}, true},
		{"bytes=5-", byteRange{first: 5, last: -1}, true},
		{"bytes=-5", byteRange{suffix: 5, isSuffix: true}, true},
		{"bytes=-0", byteRange{suffix: 0, isSuffix: true}, true},
		{"", byteRange{}, false},
		{"bytes", byteRange{}, false},
		{"bytes=", byteRange{}, false},
		{"bytes=-", byteRange{}, false},
		{"bytes=3-1", byteRange{}, false},
		{"bytes=a-b", byteRange{}, false},
		{"bytes=+1-2", byteRange{}, false},
		{"bytes=1-2,4-5", byteRange{}, false},
		{"bytes=99999999999999999999-", byteRange{}, false},
		{"items=1-2", byteRange{}, false},
	}
	for _, tc := range tests {
		got, ok := parseRange(tc.in)
		if ok != tc.wantOK || ok && got != tc.want {
			t.Errorf("parseRange(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestParseETagList(t *testing.T) {
	tests := []struct {
		in      []string
		want    etagList
		wantErr bool
	}{
		{nil, etagList{}, false},
		{[]string{"*"}, etagList{present: true, any: true}, false},
		{[]string{` * `}, etagList{present: true, any: true}, false},
		{[]string{`"a"`}, etagList{present: true, tags: []entityTag{{opaque: "a"}}}, false},
		{[]string{`W/"a"`}, etagList{present: true, tags: []entityTag{{opaque: "a", weak: true}}}, false},
		{[]string{`"a", W/"b" ,"c"`}, etagList{present: true,
			tags: []entityTag{{opaque: "a"}, {opaque: "b", weak: true}, {opaque: "c"}}}, false},
		{[]string{`"a"`, `"b"`}, etagList{present: true, tags: []entityTag{{opaque: "a"}, {opaque: "b"}}}, false},
		{[]string{`""`}, etagList{present: true, tags: []entityTag{{opaque: ""}}}, false},
		{[]string{`a`}, etagList{}, true},
		{[]string{`"a`}, etagList{}, true},
		{[]string{`"a" "b"`}, etagList{}, true},
		{[]string{`"a b"`}, etagList{}, true},
		{[]string{`*, "a"`}, etagList{}, true},
		{[]string{`,`}, etagList{}, true},
	}
	for _, tc := range tests {
		h := http.Header{}
		for _, v := range tc.in {
			h.Add("If-Match", v)
		}
		got, err := parseETagList(h, "If-Match")
		if (err != nil) != tc.wantErr {
			t.Errorf("parseETagList(%q): err = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseETagList(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestValidRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"": false, "a": true, "A-b_9": true, "a b": false, "a\n": false, "é": false,
		string(make([]byte, 64)): false,
	} {
		if got := validRequestID(id); got != want {
			t.Errorf("validRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}
