package main

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

var firstNames = []string{"Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
	"Kemi", "Liam", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Yara"}

var lastNames = []string{"Abbott", "Becker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
	"Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi",
	"Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Zhang"}

// benchUser is row i (1-based) of the generated users files.
type benchUser struct {
	userID, login, first, last, email string
}

// userAt is the user of row i; changed gives every 10th row another last name.
func userAt(i int, changed bool) benchUser {
	login := fmt.Sprintf("user%07d", i)
	u := benchUser{
		userID: fmt.Sprintf("U%07d", i),
		login:  login,
		first:  firstNames[(i*7)%len(firstNames)],
		last:   lastNames[(i*13+i/len(lastNames))%len(lastNames)],
		email:  login + "@example.edu",
	}
	if changed && isChanged(i) {
		u.last += "-Moreno"
	}
	return u
}

// isChanged says whether row i differs in the "10% changed" file.
func isChanged(i int) bool { return i%10 == 0 }

// writeUsersFile writes a users.csv of n rows.
func writeUsersFile(path string, n int, changed bool) error {
	return writeFile(path, "user_id,login_id,first_name,last_name,email,status\n", n, func(w *bufio.Writer, i int) {
		u := userAt(i, changed)
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,active\n", u.userID, u.login, u.first, u.last, u.email)
	})
}

// writeLaterUsersFile writes a users.csv of the n users that follow the
// first k files of n (rows k·n+1 to (k+1)·n): new users for a directory
// that holds those files' users.
func writeLaterUsersFile(path string, k, n int) error {
	return writeFile(path, "user_id,login_id,first_name,last_name,email,status\n", n, func(w *bufio.Writer, i int) {
		u := userAt(k*n+i, false)
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,active\n", u.userID, u.login, u.first, u.last, u.email)
	})
}

// isDropped says whether row i is left out of the batch-mode file (5 %).
func isDropped(i int) bool { return i%20 == 7 }

// writeUsersFileDropping writes the changed users file without the rows
// that isDropped names.
func writeUsersFileDropping(path string, n int) error {
	return writeFile(path, "user_id,login_id,first_name,last_name,email,status\n", n, func(w *bufio.Writer, i int) {
		if !isDropped(i) {
			u := userAt(i, true)
			fmt.Fprintf(w, "%s,%s,%s,%s,%s,active\n", u.userID, u.login, u.first, u.last, u.email)
		}
	})
}

// writeZip writes a zip of files (deflated), each under its base name.
func writeZip(path string, files ...string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, name := range files {
		in, err := os.Open(name)
		if err != nil {
			f.Close()
			return err
		}
		w, err := zw.Create(filepath.Base(name))
		if err == nil {
			_, err = io.Copy(w, in)
		}
		in.Close()
		if err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchCourses is how many courses the enrollments run spreads its rows over.
const benchCourses = 1000

func courseAt(i int) string { return fmt.Sprintf("C%04d", i%benchCourses) }

// writeCoursesFile writes a courses.csv of the benchmark's courses.
func writeCoursesFile(path string) error {
	return writeFile(path, "course_id,short_name,long_name,status\n", benchCourses, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "%s,BIO%d,Biology %d,active\n", courseAt(i), i, i)
	})
}

// writeEnrollmentsFile writes an enrollments.csv of n rows: user i is a
// student of course i mod 1000.
func writeEnrollmentsFile(path string, n int) error {
	return writeFile(path, "course_id,user_id,role,status\n", n, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "%s,%s,student,active\n", courseAt(i), userAt(i, false).userID)
	})
}

// groupAt is the group of row i of the memberships file.
func groupAt(i int) string { return fmt.Sprintf("G%04d", i%benchCourses) }

// writeGroupsFile writes a groups.csv of as many groups as courses.
func writeGroupsFile(path string) error {
	return writeFile(path, "group_id,name,status\n", benchCourses, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "%s,Study group %d,available\n", groupAt(i), i)
	})
}

// writeMembershipsFile writes a group_memberships.csv of n rows: user i is
// a member of group i mod 1000.
func writeMembershipsFile(path string, n int) error {
	return writeFile(path, "group_id,user_id,status\n", n, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "%s,%s,accepted\n", groupAt(i), userAt(i, false).userID)
	})
}

// writeFile writes a header and rows 1…n.
func writeFile(path, header string, n int, row func(w *bufio.Writer, i int)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString(header) // a bufio.Writer keeps its first error for Flush
	for i := 1; i <= n; i++ {
		row(w, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
