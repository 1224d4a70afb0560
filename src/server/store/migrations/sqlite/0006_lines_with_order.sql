-- A new order is stored with its lines in one INSERT: the lines come as a JSON array in
-- `new_lines` ([{"product_id", "name", "quantity", "unit_amount"}, …], in the cart's
-- order), which this trigger expands into `order_lines` and then clears. `order_lines`
-- stays the only record of an order's lines. One statement instead of a transaction of
-- four (BEGIN, the order, its lines, COMMIT): a first payment stores its order on the way.
-- A conflicting INSERT (`ON CONFLICT (id) DO NOTHING`) inserts no row, so fires nothing.
ALTER TABLE orders ADD COLUMN new_lines TEXT;
CREATE TRIGGER orders_lines_stored AFTER INSERT ON orders
WHEN NEW.new_lines IS NOT NULL
BEGIN
    INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position)
    SELECT NEW.id, json_extract(value, '$.product_id'), json_extract(value, '$.name'),
           json_extract(value, '$.quantity'), json_extract(value, '$.unit_amount'), CAST(key AS INTEGER)
    FROM json_each(NEW.new_lines);
    UPDATE orders SET new_lines = NULL WHERE id = NEW.id;
END;
