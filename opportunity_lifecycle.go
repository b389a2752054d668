package crmaccess

import (
	"context"
	"slices"
	"strings"
)

// CreateOpportunity creates opportunity o (the host's record id in o.ID),
// created by the actor, who is its creator whatever o.CreateBy says;
// responsible is o.Responsible, or the actor when empty. isPrivate with a
// non-empty accessList makes it private to the list and the actor, as
// ONLYOFFICE's create call does; otherwise it is public. The access it
// gives (creator, responsible, list) goes into the change log.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0, a field or reference that is
// not valid: the message names it), ECONFLICT (the id is taken),
// EUNAVAILABLE, EINTERNAL.
func (s *Service) CreateOpportunity(ctx context.Context, actorID string, o Opportunity, isPrivate bool, accessList []string) (*OpportunityResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if o.ID <= 0 {
		return nil, Errorf(EINVALID, "opportunity id %d is not positive", o.ID)
	}
	list, err := s.parseList("accessList", accessList)
	if err != nil {
		return nil, err
	}
	o.CreateBy = u
	if o.Responsible == "" {
		o.Responsible = u
	}
	if o.Created.IsZero() {
		o.Created = s.now()
	}
	if err := normalizeOpportunity(&o); err != nil {
		return nil, err
	}
	ref := OpportunityRef(o.ID)
	ctx = WithReads(ctx, Reads{Opportunities: []int64{o.ID}, Contacts: referencedContacts(&o), Stages: referencedStages(&o)})
	tok, err := s.updateGrouped(ctx, u, []Ref{ref}, func(ctx context.Context, tx Reader) (*Batch, error) {
		// One look-up: the id is free, and the references exist.
		found, err := existing(ctx, tx, []int64{o.ID}, referencedContacts(&o), referencedStages(&o))
		if err != nil {
			return nil, err
		}
		if len(found.opportunities) > 0 {
			return nil, Errorf(ECONFLICT, "opportunity %d already exists", o.ID)
		}
		if err := s.checkOpportunityReferences(&o, found); err != nil {
			return nil, err
		}
		if err := s.knownUsers("accessList", list); err != nil {
			return nil, err
		}
		before := s.auth.Access(ref)
		after := opportunityAccess(AccessState{Creator: o.CreateBy, Responsible: o.Responsible}, u, isPrivate, list)
		o.IsPrivate, o.AccessList = after.IsPrivate, after.List // the answer shows what this write set
		return &Batch{Kind: EntryRecord, Opportunities: []Opportunity{o},
			Changes: []Change{{At: s.now(), Actor: u, Entity: ref, Before: before, After: after}}}, nil
	})
	if err != nil {
		return nil, err
	}
	return s.opportunityResult(u, o, tok)
}

// UpdateOpportunity replaces the fields of opportunity o.ID a host may
// edit: title, description, responsible user (empty keeps it), main
// contact, members, stage, probability, expected close date and tags. Its
// creator, creation time and access stay. A new responsible user gains
// access and the old one loses it: that change goes into the change log.
//
// Errors: EUNAUTHORIZED, EINVALID, ENOTFOUND (missing or hidden),
// EFORBIDDEN (the actor may read it but not edit it), EUNAVAILABLE,
// EINTERNAL.
func (s *Service) UpdateOpportunity(ctx context.Context, actorID string, o Opportunity) (*OpportunityResult, error) {
	u, err := actor(actorID)
	if err != nil {
		return nil, err
	}
	if o.ID <= 0 {
		return nil, Errorf(EINVALID, "opportunity id %d is not positive", o.ID)
	}
	if err := normalizeOpportunity(&o); err != nil {
		return nil, err
	}
	ref := OpportunityRef(o.ID)
	ctx = WithReads(ctx, Reads{Opportunities: []int64{o.ID}, Contacts: referencedContacts(&o), Stages: referencedStages(&o)})
	var stored *Opportunity
	tok, err := s.updateGrouped(ctx, u, []Ref{ref}, func(ctx context.Context, tx Reader) (*Batch, error) {
		var err error
		if stored, err = s.editableOpportunity(ctx, tx, u, o.ID, ActionEdit); err != nil {
			return nil, err
		}
		if o.Responsible == "" {
			o.Responsible = stored.Responsible
		}
		found, err := existing(ctx, tx, nil, referencedContacts(&o), referencedStages(&o))
		if err != nil {
			return nil, err
		}
		if err := s.checkOpportunityReferences(&o, found); err != nil {
			return nil, err
		}
		o.CreateBy, o.Created = stored.CreateBy, stored.Created
		before := s.auth.Access(ref)
		o.IsPrivate, o.AccessList = before.IsPrivate, before.List // the answer shows the state of this write
		b := &Batch{Kind: EntryRecord, UpdateOpportunities: []Opportunity{o}}
		if before.Responsible != o.Responsible {
			after := before
			after.Responsible = o.Responsible
			b.Changes = []Change{{At: s.now(), Actor: u, Entity: ref, Before: before, After: after}}
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return s.opportunityResult(u, o, tok)
}

// DeleteOpportunity deletes opportunity id with its members and tags; the
// access it gave goes, recorded in the change log.
//
// Errors: EUNAUTHORIZED, EINVALID (id <= 0), ENOTFOUND (missing or hidden),
// EFORBIDDEN, EUNAVAILABLE, EINTERNAL.
func (s *Service) DeleteOpportunity(ctx context.Context, actorID string, id int64) (Token, error) {
	u, err := actor(actorID)
	if err != nil {
		return "", err
	}
	if id <= 0 {
		return "", Errorf(EINVALID, "opportunity id %d is not positive", id)
	}
	ref := OpportunityRef(id)
	ctx = WithReads(ctx, Reads{Opportunities: []int64{id}})
	return s.updateGrouped(ctx, u, []Ref{ref}, func(ctx context.Context, tx Reader) (*Batch, error) {
		// As editableOpportunity, without reading the row: only whether it
		// is there.
		notFound := Errorf(ENOTFOUND, "opportunity %d not found", id)
		if ok, err := s.allowed(u, ref, ActionRead); err != nil {
			return nil, err
		} else if !ok {
			return nil, notFound
		}
		if found, err := existing(ctx, tx, []int64{id}, nil, nil); err != nil {
			return nil, err
		} else if len(found.opportunities) == 0 {
			return nil, notFound
		}
		if ok, err := s.allowed(u, ref, ActionDelete); err != nil {
			return nil, err
		} else if !ok {
			return nil, Errorf(EFORBIDDEN, "you may not %s opportunity %d", ActionDelete, id)
		}
		return &Batch{Kind: EntryRecord, DeleteOpportunities: []int64{id},
			Changes: []Change{{At: s.now(), Actor: u, Entity: ref, Before: s.auth.Access(ref), After: noAccess(ref)}}}, nil
	})
}

// editableOpportunity reads an opportunity the actor may do action on:
// ENOTFOUND when missing or hidden, EFORBIDDEN when only readable.
func (s *Service) editableOpportunity(ctx context.Context, tx Reader, u string, id int64, action Action) (*Opportunity, error) {
	o, err := s.readableOpportunity(ctx, tx, u, id)
	if err != nil {
		return nil, err
	}
	if ok, err := s.allowed(u, OpportunityRef(id), action); err != nil {
		return nil, err
	} else if !ok {
		return nil, Errorf(EFORBIDDEN, "you may not %s opportunity %d", action, id)
	}
	return o, nil
}

// checkOpportunityReferences refuses a responsible user who is not known,
// and a stage, main contact or member that found does not hold.
func (s *Service) checkOpportunityReferences(o *Opportunity, found foundIDs) error {
	if err := s.knownUsers("responsibleid", []string{o.Responsible}); err != nil {
		return err
	}
	if o.StageID != 0 && !found.has(found.stages, o.StageID) {
		return Errorf(EINVALID, "stageid: stage %d does not exist", o.StageID)
	}
	for _, id := range referencedContacts(o) {
		if !found.has(found.contacts, id) {
			return Errorf(EINVALID, "contact %d does not exist", id)
		}
	}
	return nil
}

// referencedContacts are an opportunity's main contact and members, in
// that order; referencedStages its stage, if any.
func referencedContacts(o *Opportunity) []int64 {
	ids := o.Members
	if o.ContactID != 0 {
		ids = append([]int64{o.ContactID}, ids...)
	}
	return ids
}

func referencedStages(o *Opportunity) []int64 {
	if o.StageID == 0 {
		return nil
	}
	return []int64{o.StageID}
}

// foundIDs are the ids a write looked up that exist, ascending by table.
type foundIDs struct{ opportunities, contacts, stages []int64 }

func (foundIDs) has(ids []int64, id int64) bool {
	_, ok := slices.BinarySearch(ids, id)
	return ok
}

// existenceReader is a Reader that tells which records exist without
// reading them (the storage package's readers do, in one query).
type existenceReader interface {
	ExistingIDs(ctx context.Context, opportunities, contacts, stages []int64) (opps, cons, stgs []int64, err error)
}

// existing looks up which of the ids exist: through the reader's
// ExistingIDs where it has one, else by reading the records. Errors are
// EINTERNAL.
func existing(ctx context.Context, tx Reader, opportunities, contacts, stages []int64) (foundIDs, error) {
	var f foundIDs
	if er, ok := tx.(existenceReader); ok {
		var err error
		if f.opportunities, f.contacts, f.stages, err = er.ExistingIDs(ctx, opportunities, contacts, stages); err != nil {
			return f, Internal(err)
		}
		return f, nil
	}
	if len(opportunities) > 0 {
		found, err := tx.Opportunities(ctx, opportunities)
		if err != nil {
			return f, Internal(err)
		}
		for _, o := range found {
			f.opportunities = append(f.opportunities, o.ID)
		}
	}
	if len(contacts) > 0 {
		found, err := tx.Contacts(ctx, contacts)
		if err != nil {
			return f, Internal(err)
		}
		for _, c := range found {
			f.contacts = append(f.contacts, c.ID)
		}
	}
	if len(stages) > 0 {
		found, err := tx.Stages(ctx, stages)
		if err != nil {
			return f, Internal(err)
		}
		for _, st := range found {
			f.stages = append(f.stages, st.ID)
		}
	}
	return f, nil
}

// normalizeOpportunity checks the fields a host sets and puts them in
// canonical form.
func normalizeOpportunity(o *Opportunity) error {
	if o.Responsible != "" {
		id, err := ParseGUID(o.Responsible)
		if err != nil {
			return Errorf(EINVALID, "responsibleid: %q is not a GUID", o.Responsible)
		}
		o.Responsible = id
	}
	if o.SuccessProbability < 0 || o.SuccessProbability > 100 {
		return Errorf(EINVALID, "successProbability: %d is not from 0 to 100", o.SuccessProbability)
	}
	for _, id := range o.Members {
		if id <= 0 {
			return Errorf(EINVALID, "members: contact id %d is not positive", id)
		}
	}
	if o.ContactID < 0 {
		return Errorf(EINVALID, "contactid: %d is negative", o.ContactID)
	}
	return checkTags(o.Tags)
}

func checkTags(tags []string) error {
	for _, t := range tags {
		if strings.TrimSpace(t) == "" {
			return Errorf(EINVALID, "tags: a tag is empty")
		}
	}
	return nil
}

// opportunityResult renders o, with the access its write left, for u.
func (s *Service) opportunityResult(u string, o Opportunity, tok Token) (*OpportunityResult, error) {
	ref := OpportunityRef(o.ID)
	canEdit, err := s.allowed(u, ref, ActionEdit)
	if err != nil {
		return nil, err
	}
	return &OpportunityResult{Opportunity: o, CanEdit: canEdit, Token: tok}, nil
}

// noAccess is the state of a record with no rules: one that does not
// exist.
func noAccess(ref Ref) AccessState {
	if ref.Kind == KindContact {
		return AccessState{IsPrivate: true, ShareType: ShareNone}
	}
	return AccessState{IsPrivate: true}
}
