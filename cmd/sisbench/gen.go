package main

import (
	"bufio"
	"fmt"
	"os"
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
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, "user_id,login_id,first_name,last_name,email,status\n")
	for i := 1; i <= n; i++ {
		u := userAt(i, changed)
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,active\n", u.userID, u.login, u.first, u.last, u.email)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
