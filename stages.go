package crmaccess

import "context"

// AddStage, UpdateStage and DeleteStage manage the opportunity stages, a
// setting of the CRM: only admins may. A stage an opportunity is at cannot
// be deleted.
//
// Errors: EUNAUTHORIZED, EFORBIDDEN (not an admin), EINVALID (id <= 0, a
// stage type that is not 0 to 2, a probability out of 0 to 100), ECONFLICT
// (AddStage: the id is taken; UpdateStage, DeleteStage: no such stage;
// DeleteStage: in use), EUNAVAILABLE, EINTERNAL.
func (s *Service) AddStage(ctx context.Context, actorID string, st Stage) (Token, error) {
	return s.writeStage(ctx, actorID, st.ID, &st, func(b *Batch) { b.Stages = []Stage{st} }, func(found bool) error {
		if found {
			return Errorf(ECONFLICT, "stage %d already exists", st.ID)
		}
		return nil
	})
}

// UpdateStage replaces stage st.ID; see AddStage.
func (s *Service) UpdateStage(ctx context.Context, actorID string, st Stage) (Token, error) {
	return s.writeStage(ctx, actorID, st.ID, &st, func(b *Batch) { b.UpdateStages = []Stage{st} }, stageMustExist(st.ID))
}

// DeleteStage deletes stage id unless an opportunity is at it; see AddStage.
func (s *Service) DeleteStage(ctx context.Context, actorID string, id int64) (Token, error) {
	return s.writeStage(ctx, actorID, id, nil, func(b *Batch) { b.DeleteStages = []int64{id} }, stageMustExist(id))
}

func stageMustExist(id int64) func(bool) error {
	return func(found bool) error {
		if !found {
			return Errorf(ECONFLICT, "stage %d does not exist", id)
		}
		return nil
	}
}

func (s *Service) writeStage(ctx context.Context, actorID string, id int64, st *Stage, fill func(*Batch), exists func(found bool) error) (Token, error) {
	u, err := actor(actorID)
	if err != nil {
		return "", err
	}
	if id <= 0 {
		return "", Errorf(EINVALID, "stage id %d is not positive", id)
	}
	if st != nil {
		if !StageType(st.StageType).Valid() {
			return "", Errorf(EINVALID, "stageType: %d is not 0, 1 or 2", st.StageType)
		}
		if st.SuccessProbability < 0 || st.SuccessProbability > 100 {
			return "", Errorf(EINVALID, "successProbability: %d is not from 0 to 100", st.SuccessProbability)
		}
	}
	return s.update(ctx, u, func(ctx context.Context, tx Reader) (*Batch, error) {
		if !s.auth.IsAdmin(u) {
			return nil, Errorf(EFORBIDDEN, "only an admin may change the stages")
		}
		found, err := tx.Stages(ctx, []int64{id})
		if err != nil {
			return nil, Internal(err)
		}
		if err := exists(len(found) > 0); err != nil {
			return nil, err
		}
		if st == nil {
			if used, err := tx.StageInUse(ctx, id); err != nil {
				return nil, Internal(err)
			} else if used {
				return nil, Errorf(ECONFLICT, "stage %d is in use: move its opportunities first", id)
			}
		}
		b := &Batch{Kind: EntryRecord}
		fill(b)
		return b, nil
	})
}
