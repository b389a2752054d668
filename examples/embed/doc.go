// Command embed shows crmaccess inside a host application: the host has
// its own GORM database with its own tables (accounts with API keys, and
// deals), opens crmaccess on the same *gorm.DB with storage.New, mounts
// the ONLYOFFICE endpoints beside its own routes, authenticating with its
// own accounts, and creates, edits and deletes its deals and crmaccess's
// opportunities in one transaction of its own (one rolled back on purpose).
//
//	go run ./examples/embed              # serve on 127.0.0.1:8081 over embed.db
//	go run ./examples/embed -selftest    # serve on a free port, send a few requests, print the answers, exit
package main
