import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.json.JsonConverter;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes reference outputs of Kafka Connect's JsonConverter, one file per case, plus
 * manifest.json listing every case (its name, file and converter configuration).
 * The ferry test suite rebuilds the same schema and value for each case by name and
 * checks that its own JsonConverter writes exactly these bytes and reads them back.
 *
 * Usage: java GenerateFixtures OUTPUT_DIR
 */
public final class GenerateFixtures {

    private record Case(String name, String file, String description, Map<String, String> config, Schema schema, Object value) { }

    private static final String TOPIC = "fixtures";

    private static final Map<String, String> SCHEMAS = Map.of();
    private static final Map<String, String> NO_SCHEMAS = Map.of("schemas.enable", "false");
    private static final Map<String, String> NUMERIC = Map.of("decimal.format", "NUMERIC");
    private static final Map<String, String> NO_DEFAULTS = Map.of("replace.null.with.default", "false");

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: GenerateFixtures OUTPUT_DIR");
            System.exit(2);
        }
        Path out = Paths.get(args[0]);
        Files.createDirectories(out);

        List<Case> cases = cases();
        List<Map<String, Object>> manifest = new ArrayList<>();
        for (Case c : cases) {
            JsonConverter converter = new JsonConverter();
            converter.configure(c.config(), false);
            byte[] bytes = converter.fromConnectData(TOPIC, c.schema(), c.value());
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", c.name());
            entry.put("description", c.description());
            entry.put("config", new java.util.TreeMap<>(c.config()));
            if (bytes == null) {
                entry.put("file", null);
            } else {
                Files.write(out.resolve(c.file()), bytes);
                entry.put("file", c.file());
            }
            manifest.add(entry);
        }

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("generator", "tools/kafka-connect-fixtures/generate.sh");
        doc.put("converter", JsonConverter.class.getName());
        doc.put("kafkaVersion", new JsonConverter().version());
        doc.put("javaVersion", System.getProperty("java.version"));
        doc.put("cases", manifest);
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        byte[] manifestBytes = mapper.writeValueAsBytes(doc);
        byte[] withNewline = Arrays.copyOf(manifestBytes, manifestBytes.length + 1);
        withNewline[manifestBytes.length] = '\n';
        Files.write(out.resolve("manifest.json"), withNewline);
        System.out.println("wrote " + cases.size() + " cases to " + out);
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();

        // The customer record of converters.test.ts.
        Schema address = SchemaBuilder.struct().name("Address").optional()
                .field("city", Schema.STRING_SCHEMA)
                .build();
        Schema customer = SchemaBuilder.struct().name("com.example.Customer").version(3)
                .field("id", Schema.INT32_SCHEMA)
                .field("name", Schema.OPTIONAL_STRING_SCHEMA)
                .field("score", Schema.FLOAT64_SCHEMA)
                .field("active", Schema.BOOLEAN_SCHEMA)
                .field("blob", Schema.OPTIONAL_BYTES_SCHEMA)
                .field("updated", Timestamp.SCHEMA)
                .field("price", Decimal.schema(2))
                .field("tags", SchemaBuilder.array(Schema.STRING_SCHEMA).build())
                .field("counts", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.INT64_SCHEMA).build())
                .field("address", address)
                .build();
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("x", 1L);
        Struct customerValue = new Struct(customer)
                .put("id", 42)
                .put("name", "Ada")
                .put("score", 1.0)
                .put("active", true)
                .put("blob", new byte[] {1, 2, 3})
                .put("updated", new java.util.Date(1700000000123L))
                .put("price", new BigDecimal("123.45"))
                .put("tags", List.of("a", "b"))
                .put("counts", counts)
                .put("address", new Struct(address).put("city", "Paris"));
        cases.add(new Case("customer.schemas", "customer.schemas.json",
                "The customer struct in a schema envelope (schemas.enable=true)", SCHEMAS, customer, customerValue));
        cases.add(new Case("customer.schemaless", "customer.schemaless.json",
                "The customer struct, payload only (schemas.enable=false)", NO_SCHEMAS, customer, customerValue));

        // Plain types only: struct fields written in schema order whatever the value's own order.
        Schema line = SchemaBuilder.struct().name("Line")
                .field("sku", Schema.STRING_SCHEMA)
                .field("qty", Schema.INT32_SCHEMA)
                .build();
        Schema plain = SchemaBuilder.struct().name("com.example.Plain")
                .field("id", Schema.INT32_SCHEMA)
                .field("name", Schema.STRING_SCHEMA)
                .field("ok", Schema.BOOLEAN_SCHEMA)
                .field("small", Schema.INT8_SCHEMA)
                .field("mid", Schema.INT16_SCHEMA)
                .field("lines", SchemaBuilder.array(line).build())
                .field("note", Schema.OPTIONAL_STRING_SCHEMA)
                .build();
        Struct plainValue = new Struct(plain)
                .put("id", 7)
                .put("name", "plain")
                .put("ok", false)
                .put("small", (byte) -8)
                .put("mid", (short) 300)
                .put("lines", List.of(new Struct(line).put("sku", "A-1").put("qty", 2), new Struct(line).put("sku", "B-2").put("qty", 0)));
        cases.add(new Case("plain", "plain.json",
                "Only int/string/boolean/array/struct fields; an optional field left unset", SCHEMAS, plain, plainValue));

        // Decimals, BASE64 (default) and NUMERIC.
        Schema decimals = SchemaBuilder.struct().name("com.example.Decimals")
                .field("price", Decimal.schema(2))
                .field("cent", Decimal.schema(2))
                .field("minusCent", Decimal.schema(2))
                .field("minus200", Decimal.schema(2))
                .field("zero", Decimal.schema(2))
                .field("big", Decimal.schema(2))
                .field("minusBig", Decimal.schema(2))
                .field("tiny", Decimal.schema(10))
                .field("whole", Decimal.schema(0))
                .field("minus128", Decimal.schema(0))
                .field("hundreds", Decimal.schema(-2))
                .field("missing", Decimal.builder(2).optional().build())
                .build();
        Struct decimalsValue = new Struct(decimals)
                .put("price", new BigDecimal("123.45"))
                .put("cent", new BigDecimal("0.01"))
                .put("minusCent", new BigDecimal("-0.01"))
                .put("minus200", new BigDecimal("-200.00"))
                .put("zero", new BigDecimal("0.00"))
                .put("big", new BigDecimal("99999999999999999999.99"))
                .put("minusBig", new BigDecimal("-12345678901234567890.12"))
                .put("tiny", new BigDecimal("0.0000000001"))
                .put("whole", new BigDecimal("42"))
                .put("minus128", new BigDecimal("-128"))
                .put("hundreds", new BigDecimal("1.23E+4"));
        cases.add(new Case("decimals.base64", "decimals.base64.json",
                "Decimals of several scales, signs and sizes, decimal.format=BASE64 (default)", SCHEMAS, decimals, decimalsValue));
        cases.add(new Case("decimal-numeric", "decimal-numeric.json",
                "The same decimals with decimal.format=NUMERIC", NUMERIC, decimals, decimalsValue));

        // Date / Time / Timestamp.
        Schema logical = SchemaBuilder.struct().name("com.example.Logical")
                .field("date", Date.SCHEMA)
                .field("dayBeforeEpoch", Date.SCHEMA)
                .field("time", Time.SCHEMA)
                .field("timestamp", Timestamp.SCHEMA)
                .field("beforeEpoch", Timestamp.SCHEMA)
                .field("optionalDate", Date.builder().optional().build())
                .build();
        Struct logicalValue = new Struct(logical)
                .put("date", new java.util.Date(19782L * 86_400_000L)) // 2024-02-29
                .put("dayBeforeEpoch", new java.util.Date(-86_400_000L))
                .put("time", new java.util.Date(49_530_250L)) // 13:45:30.250
                .put("timestamp", new java.util.Date(1700000000123L))
                .put("beforeEpoch", new java.util.Date(-1000L));
        cases.add(new Case("logical", "logical.json", "Date, Time and Timestamp logical types", SCHEMAS, logical, logicalValue));

        // Optional fields with defaults, left null.
        Schema defaults = SchemaBuilder.struct().name("com.example.Defaults")
                .field("label", SchemaBuilder.string().optional().defaultValue("anon").doc("display name").build())
                .field("count", SchemaBuilder.int32().optional().defaultValue(7).build())
                .field("ratio", SchemaBuilder.float64().optional().defaultValue(1.0).build())
                .field("since", Timestamp.builder().optional().defaultValue(new java.util.Date(0L)).build())
                .field("amount", Decimal.builder(2).optional().defaultValue(new BigDecimal("1.50")).build())
                .field("raw", SchemaBuilder.bytes().optional().defaultValue(new byte[] {9, 8}).build())
                .field("note", Schema.OPTIONAL_STRING_SCHEMA)
                .field("given", SchemaBuilder.string().optional().defaultValue("unused").build())
                .build();
        Struct defaultsValue = new Struct(defaults).put("given", "set");
        cases.add(new Case("optional-default", "optional-default.json",
                "Null optional fields with defaults (replace.null.with.default=true, the default)", SCHEMAS, defaults, defaultsValue));
        cases.add(new Case("optional-default.no-replace", "optional-default.no-replace.json",
                "The same with replace.null.with.default=false", NO_DEFAULTS, defaults, defaultsValue));

        // Primitives.
        cases.add(new Case("string", "string.json", "A string needing escapes, with a schema", SCHEMAS, Schema.STRING_SCHEMA,
                "quote \" backslash \\ slash / nl \n tab \t cr \r bs \b ff \f ctrl \u0001\u001f del \u007f é 日本 😀 \u2028 </script> \\u0041"));
        cases.add(new Case("int64", "int64.json", "An int64", SCHEMAS, Schema.INT64_SCHEMA, 1700000000123L));
        cases.add(new Case("int64-max", "int64-max.json", "The largest int64 (past 2^53)", SCHEMAS, Schema.INT64_SCHEMA, Long.MAX_VALUE));
        cases.add(new Case("int64-min.schemaless", "int64-min.schemaless.json", "The smallest int64, payload only", NO_SCHEMAS,
                Schema.INT64_SCHEMA, Long.MIN_VALUE));
        cases.add(new Case("double", "double.json", "A whole double", SCHEMAS, Schema.FLOAT64_SCHEMA, 1.0));
        cases.add(new Case("double-fraction", "double-fraction.json", "A fractional double", SCHEMAS, Schema.FLOAT64_SCHEMA, 2.5));
        cases.add(new Case("doubles", "doubles.json", "Doubles across Java's plain and exponent notations", SCHEMAS,
                SchemaBuilder.array(Schema.FLOAT64_SCHEMA).build(),
                List.of(1.0, 2.5, -0.0, 0.1, 100.0, 9999999.0, 1.0E7, 1.0E10, 12345678.9, 0.001, 9.99E-4, 1.0E-4, -1.5E-7,
                        123456.789, 1.7976931348623157E308, 4.9E-324, 2.2250738585072014E-308, 9.007199254740993E15, 1.0E21, 1.0E22,
                        0.1 + 0.2, 1.0E16, -2.5E-300)));
        cases.add(new Case("doubles-nonfinite", "doubles-nonfinite.json", "NaN and infinities", SCHEMAS,
                SchemaBuilder.array(Schema.FLOAT64_SCHEMA).build(),
                List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY)));
        // Values whose text is the same from every JDK: before JDK 19, Double/Float.toString could
        // print a digit more than needed, or a non-closest last digit, for some full-precision values.
        cases.add(new Case("floats", "floats.json", "float32 values, two of them ties between two shortest texts", SCHEMAS, SchemaBuilder.array(Schema.FLOAT32_SCHEMA).build(),
                List.of(1.0f, 0.1f, 2.5f, -3.75f, 16777216.0f, 1.0E10f, 3.4028235E38f, 1.4E-45f, 0.3f, 1.0E-4f, 3376200.25f, 32009.3125f)));
        cases.add(new Case("bytes", "bytes.json", "A bytes value", SCHEMAS, Schema.BYTES_SCHEMA, new byte[] {0, (byte) 255, 7, 62, 63}));
        cases.add(new Case("boolean.schemaless", "boolean.schemaless.json", "A boolean, payload only", NO_SCHEMAS,
                Schema.BOOLEAN_SCHEMA, true));

        // Maps.
        Map<Integer, String> intKeys = new LinkedHashMap<>();
        intKeys.put(1, "one");
        intKeys.put(2, "two");
        intKeys.put(-3, "minus three");
        cases.add(new Case("map-int-keys", "map-int-keys.json", "A map with int32 keys: an array of [key, value] pairs", SCHEMAS,
                SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.STRING_SCHEMA).build(), intKeys));
        Map<String, Double> stringKeys = new LinkedHashMap<>();
        stringKeys.put("b", 1.0);
        stringKeys.put("a", 0.5);
        cases.add(new Case("map-string-keys", "map-string-keys.json", "A map with string keys: an object, in map order", SCHEMAS,
                SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.FLOAT64_SCHEMA).build(), stringKeys));

        Map<String, Integer> optionalKeys = new LinkedHashMap<>();
        optionalKeys.put("k", 1);
        cases.add(new Case("map-optional-string-keys", "map-optional-string-keys.json",
                "A map whose key schema is an optional string", SCHEMAS,
                SchemaBuilder.map(Schema.OPTIONAL_STRING_SCHEMA, Schema.INT32_SCHEMA).build(), optionalKeys));

        // Nulls.
        cases.add(new Case("tombstone", null, "No schema and a null value: no bytes at all", SCHEMAS, null, null));
        cases.add(new Case("optional-null", "optional-null.json", "An optional string schema with a null value", SCHEMAS,
                Schema.OPTIONAL_STRING_SCHEMA, null));
        cases.add(new Case("optional-null.schemaless", "optional-null.schemaless.json", "The same, payload only", NO_SCHEMAS,
                Schema.OPTIONAL_STRING_SCHEMA, null));

        // No schema: types inferred from the Java values.
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("d", 2.5);
        Map<String, Object> noSchema = new LinkedHashMap<>();
        noSchema.put("a", 1);
        noSchema.put("b", Arrays.asList(true, null, "x"));
        noSchema.put("c", inner);
        noSchema.put("long", 9007199254740993L);
        noSchema.put("bytes", new byte[] {1, 2, 3});
        noSchema.put("text", "tab\tctrl\u0002");
        cases.add(new Case("no-schema", "no-schema.json", "A schemaless map in an envelope (schema null)", SCHEMAS, null, noSchema));
        Map<Integer, String> noSchemaIntKeys = new LinkedHashMap<>();
        noSchemaIntKeys.put(1, "a");
        noSchemaIntKeys.put(2, "b");
        cases.add(new Case("no-schema-int-keys", "no-schema-int-keys.schemaless.json",
                "A schemaless map with integer keys, payload only", NO_SCHEMAS, null, noSchemaIntKeys));
        return cases;
    }
}
