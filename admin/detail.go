package admin

import "errors"

// ForbiddenDetail returns the sentence that explains an [ErrForbidden]
// from the [Manager] to the person refused (the one the JSON API sends as
// the problem's detail), and whether err is one. The sentence is fixed
// text, safe to show.
func ForbiddenDetail(err error) (string, bool) {
	var f *forbidden
	if errors.As(err, &f) {
		return f.detail, true
	}
	return "", false
}
