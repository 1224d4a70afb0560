-- An order's fulfilment is recorded by the statement that moves it to paid or authorised by
-- its payment (from open, requires_action, processing or failed: `OrderStatus::before` of
-- `Succeeded`), in that statement: fulfilling is one UPDATE, not a transaction of two.
-- A capture (authorised → paid) records nothing: the order was fulfilled when authorised, and
-- `fulfilments.order_id` is its key, so a second record would fail the UPDATE.
-- A later migration that rebuilds `orders` must create this trigger again.
CREATE TRIGGER orders_fulfilled AFTER UPDATE OF status ON orders
WHEN OLD.status IN ('open', 'requires_action', 'processing', 'failed') AND NEW.status IN ('paid', 'authorised')
BEGIN
    INSERT INTO fulfilments (order_id, payment_intent_id, amount, fulfilled_at)
    VALUES (NEW.id, NEW.payment_intent_id, (SELECT COALESCE(SUM(quantity * unit_amount), 0) FROM order_lines WHERE order_id = NEW.id), NEW.updated_at);
END;
