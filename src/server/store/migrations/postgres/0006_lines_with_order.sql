-- A new order is stored with its lines in one INSERT: see ../sqlite/0006_lines_with_order.sql.
ALTER TABLE orders ADD COLUMN new_lines TEXT;
CREATE FUNCTION store_new_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_lines (order_id, product_id, name, quantity, unit_amount, position)
    SELECT NEW.id, line->>'product_id', line->>'name', (line->>'quantity')::BIGINT, (line->>'unit_amount')::BIGINT, n - 1
    FROM jsonb_array_elements(NEW.new_lines::jsonb) WITH ORDINALITY AS lines (line, n);
    UPDATE orders SET new_lines = NULL WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER orders_lines_stored AFTER INSERT ON orders FOR EACH ROW
WHEN (NEW.new_lines IS NOT NULL)
EXECUTE FUNCTION store_new_lines();
