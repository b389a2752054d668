// Package accesstest helps a host's own tests state who may do what with
// its CRM records, and checks it against a *crmaccess.Service.
//
// Assertions name one user, one record and one action:
//
//	accesstest.MayRead(t, svc, mike, crmaccess.OpportunityRef(2))
//	accesstest.MayNotEdit(t, svc, omar, crmaccess.ContactRef(15))
//
// On failure they report, through t.Errorf, the user, the record, the
// action and the reason of the decision in CRM terms (admin, public, in
// accessList, creator, responsible, shared read-write, in managerList,
// denied, or "not a known, active user").
//
// An expectations file states many of them at once, the way SpiceDB's
// validation files do: names for users and records, then who may and may
// not do what. ParseExpectations reads it strictly (an unknown field or
// action is an error naming its line and column); Expectations.Check
// returns every violation (for programs: examples/audit checks a live
// database with it); Expect and ExpectFile report them in a test.
//
//	{
//	  "users":   {"mike": "22222222-2222-4222-8222-222222222222",
//	              "omar": "44444444-4444-4444-8444-444444444444"},
//	  "records": {"fleet": "opportunity:2"},
//	  "expect": [
//	    {"users": ["mike"], "records": ["fleet"], "may": ["read", "edit"], "mayNot": ["access"]},
//	    {"users": ["omar"], "records": ["fleet", "contact:15"], "mayNot": ["read"],
//	     "why": "private deals stay with their team"}
//	  ]
//	}
//
// Actions are read, edit, delete and access (change access). A user is a
// name from "users" or a user id; a record is a name from "records" or
// "opportunity:ID" / "contact:ID".
//
// Checks run on the Service's memory as it is (see crmaccess.Service.Check);
// a test that wrote through another instance asserts on
// AtLeast(svc, token), which waits for the write's token first.
package accesstest
