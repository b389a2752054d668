package crmaccess_test

import (
	"context"
	"fmt"
	"os"

	"github.com/crmaccess/crmaccess"
)

// Before making every "lead" private to Ben, Ann previews the change: it
// shows what would change and writes nothing; the change itself then does
// exactly that.
func ExampleService_PreviewContactsAccess() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "crmaccess-example")
	defer os.RemoveAll(dir)
	svc, done := openExample(ctx, dir)
	defer done()

	leads := crmaccess.ContactFilter{Tags: []string{"lead"}}
	preview, err := svc.PreviewContactsAccess(ctx, ann, leads, true, []string{ben})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range preview.Contacts {
		fmt.Printf("would make %s private to %d user(s), changed: %v, Ann may still edit it: %v\n",
			c.DisplayName(), len(c.ManagerList), c.Changed, c.CanEdit)
	}
	d, _ := svc.Check(ctx, ann, crmaccess.ContactRef(1), crmaccess.ActionEdit)
	fmt.Println("after the preview, Ann may edit Tadjeddine Bachir:", d.Allowed)

	res, _ := svc.SetContactsAccess(ctx, ann, leads, true, []string{ben})
	d, _ = svc.Check(ctx, ann, crmaccess.ContactRef(1), crmaccess.ActionEdit)
	fmt.Println("after the change:", len(res.Contacts), "contacts; Ann may edit Tadjeddine Bachir:", d.Allowed)
	// Output:
	// would make Tadjeddine Bachir private to 1 user(s), changed: true, Ann may still edit it: false
	// would make Food and Culture Project private to 1 user(s), changed: true, Ann may still edit it: false
	// after the preview, Ann may edit Tadjeddine Bachir: true
	// after the change: 2 contacts; Ann may edit Tadjeddine Bachir: false
}
