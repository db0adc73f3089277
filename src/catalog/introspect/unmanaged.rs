//! More kinds pgalign does not manage: reported in `Model::unmanaged`, so that a
//! difference in them is a blocker step of a plan instead of going unseen.
//! One query (a `UNION ALL` of one branch per kind); objects that belong to an
//! extension are left out (they are the extension's).

use super::sql::{not_ext, q};
use super::{Row, Transaction, query};
use crate::catalog::model::Model;
use anyhow::Result;

/// `(description, hash of the definition)` of user-defined casts, operators,
/// operator classes and families, text search configurations, dictionaries,
/// parsers and templates, conversions, foreign-data wrappers, user mappings,
/// subscriptions of this database, procedural languages, access methods,
/// transforms and security labels. Objects in a schema are named by their
/// qualified name, so `--schema`/`--exclude` filters apply to them.
pub fn unmanaged_more() -> String {
    let name = |schema: &str, object: &str| {
        format!("quote_ident({schema}.nspname) || '.' || quote_ident({object})")
    };
    let proc = |col: &str| format!("{col}::oid::regprocedure::text");
    q(&format!(
        "
SELECT 'cast (' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')',
       md5(concat_ws(',', {castfunc}, c.castcontext::text, c.castmethod::text))
FROM pg_cast c
WHERE c.oid >= 16384 AND {x_cast}
  -- not the casts PostgreSQL makes with a range type (to its multirange)
  AND NOT EXISTS (SELECT 1 FROM pg_depend ci WHERE ci.classid = 'pg_cast'::regclass
                  AND ci.objid = c.oid AND ci.deptype = 'i')
UNION ALL
SELECT 'operator ' || o.oid::regoperator::text,
       md5(concat_ws(',', {oprcode}, o.oprcom::regoperator::text, o.oprnegate::regoperator::text,
                     {oprrest}, {oprjoin}, o.oprcanmerge::text, o.oprcanhash::text))
FROM pg_operator o JOIN ns ON ns.oid = o.oprnamespace
WHERE {x_op}
UNION ALL
SELECT 'operator class ' || {opc} || ' using ' || quote_ident(am.amname),
       md5(concat_ws(',', format_type(oc.opcintype, NULL), oc.opcdefault::text, format_type(nullif(oc.opckeytype, 0), NULL),
                     (SELECT quote_ident(fn.nspname) || '.' || quote_ident(f.opfname)
                      FROM pg_opfamily f JOIN pg_namespace fn ON fn.oid = f.opfnamespace WHERE f.oid = oc.opcfamily)))
FROM pg_opclass oc JOIN ns ON ns.oid = oc.opcnamespace JOIN pg_am am ON am.oid = oc.opcmethod
WHERE {x_opc}
UNION ALL
SELECT 'operator family ' || {opf} || ' using ' || quote_ident(am.amname),
       md5(concat_ws(';',
           (SELECT string_agg(concat_ws(' ', ao.amopstrategy, ao.amopopr::regoperator::text, ao.amoppurpose::text,
                                        format_type(ao.amoplefttype, NULL), format_type(ao.amoprighttype, NULL)),
                              ',' ORDER BY ao.amopstrategy, ao.amoplefttype, ao.amoprighttype)
            FROM pg_amop ao WHERE ao.amopfamily = f.oid),
           (SELECT string_agg(concat_ws(' ', ap.amprocnum, ap.amproc::oid::regprocedure::text,
                                        format_type(ap.amproclefttype, NULL), format_type(ap.amprocrighttype, NULL)),
                              ',' ORDER BY ap.amprocnum, ap.amproclefttype, ap.amprocrighttype)
            FROM pg_amproc ap WHERE ap.amprocfamily = f.oid)))
FROM pg_opfamily f JOIN ns ON ns.oid = f.opfnamespace JOIN pg_am am ON am.oid = f.opfmethod
WHERE {x_opf}
UNION ALL
SELECT 'text search configuration ' || {cfg},
       md5(concat_ws(';', (SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.prsname)
                           FROM pg_ts_parser p JOIN pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = cfg.cfgparser),
                     (SELECT string_agg(m.maptokentype || ':' || m.mapseqno || ':' || m.mapdict::regdictionary::text,
                                        ',' ORDER BY m.maptokentype, m.mapseqno)
                      FROM pg_ts_config_map m WHERE m.mapcfg = cfg.oid)))
FROM pg_ts_config cfg JOIN ns ON ns.oid = cfg.cfgnamespace
WHERE {x_cfg}
UNION ALL
SELECT 'text search dictionary ' || {dict},
       md5(concat_ws(';', (SELECT quote_ident(tn.nspname) || '.' || quote_ident(t.tmplname)
                           FROM pg_ts_template t JOIN pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate),
                     d.dictinitoption))
FROM pg_ts_dict d JOIN ns ON ns.oid = d.dictnamespace
WHERE {x_dict}
UNION ALL
SELECT 'text search parser ' || {prs},
       md5(concat_ws(',', {prsstart}, {prstoken}, {prsend}, {prsheadline}, {prslextype}))
FROM pg_ts_parser p JOIN ns ON ns.oid = p.prsnamespace
WHERE {x_prs}
UNION ALL
SELECT 'text search template ' || {tmpl}, md5(concat_ws(',', {tmplinit}, {tmpllexize}))
FROM pg_ts_template t JOIN ns ON ns.oid = t.tmplnamespace
WHERE {x_tmpl}
UNION ALL
SELECT 'conversion ' || {conv},
       md5(concat_ws(',', pg_encoding_to_char(cv.conforencoding), pg_encoding_to_char(cv.contoencoding),
                     {conproc}, cv.condefault::text))
FROM pg_conversion cv JOIN ns ON ns.oid = cv.connamespace
WHERE {x_conv}
UNION ALL
SELECT 'foreign-data wrapper ' || quote_ident(w.fdwname),
       md5(concat_ws(',', {fdwhandler}, {fdwvalidator}, array_to_string(w.fdwoptions, ',')))
FROM pg_foreign_data_wrapper w
WHERE {x_fdw}
UNION ALL
SELECT 'user mapping for ' || quote_ident(um.usename) || ' server ' || quote_ident(um.srvname),
       md5(coalesce((SELECT string_agg(split_part(o, '=', 1), ',' ORDER BY 1) FROM unnest(um.umoptions) o), ''))
FROM pg_user_mappings um
WHERE NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_user_mapping'::regclass
                  AND e.objid = um.umid AND e.deptype = 'e')
UNION ALL
SELECT 'subscription ' || quote_ident(s.subname), md5(array_to_string(s.subpublications, ','))
FROM pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
UNION ALL
SELECT 'language ' || quote_ident(l.lanname),
       md5(concat_ws(',', l.lanpltrusted::text, {lancall}, {laninline}, {lanvalidator}))
FROM pg_language l
WHERE l.oid >= 16384 AND {x_lang}
UNION ALL
SELECT 'access method ' || quote_ident(a.amname), md5(a.amtype::text || ',' || {amhandler})
FROM pg_am a
WHERE a.oid >= 16384 AND {x_am}
UNION ALL
SELECT 'transform for ' || format_type(tr.trftype, NULL) || ' language ' || quote_ident(l.lanname),
       md5(concat_ws(',', {trffromsql}, {trftosql}))
FROM pg_transform tr JOIN pg_language l ON l.oid = tr.trflang
WHERE tr.oid >= 16384 AND {x_trf}
UNION ALL
SELECT 'security label ' || quote_ident(sl.provider) || ' on ' || pg_describe_object(sl.classoid, sl.objoid, sl.objsubid),
       md5(sl.label)
FROM pg_seclabel sl
",
        castfunc = proc("c.castfunc"),
        x_cast = not_ext("pg_cast", "c"),
        oprcode = proc("o.oprcode"),
        oprrest = proc("o.oprrest"),
        oprjoin = proc("o.oprjoin"),
        x_op = not_ext("pg_operator", "o"),
        opc = name("ns", "oc.opcname"),
        x_opc = not_ext("pg_opclass", "oc"),
        opf = name("ns", "f.opfname"),
        x_opf = not_ext("pg_opfamily", "f"),
        cfg = name("ns", "cfg.cfgname"),
        x_cfg = not_ext("pg_ts_config", "cfg"),
        dict = name("ns", "d.dictname"),
        x_dict = not_ext("pg_ts_dict", "d"),
        prs = name("ns", "p.prsname"),
        prsstart = proc("p.prsstart"),
        prstoken = proc("p.prstoken"),
        prsend = proc("p.prsend"),
        prsheadline = proc("p.prsheadline"),
        prslextype = proc("p.prslextype"),
        x_prs = not_ext("pg_ts_parser", "p"),
        tmpl = name("ns", "t.tmplname"),
        tmplinit = proc("t.tmplinit"),
        tmpllexize = proc("t.tmpllexize"),
        x_tmpl = not_ext("pg_ts_template", "t"),
        conv = name("ns", "cv.conname"),
        conproc = proc("cv.conproc"),
        x_conv = not_ext("pg_conversion", "cv"),
        fdwhandler = proc("w.fdwhandler"),
        fdwvalidator = proc("w.fdwvalidator"),
        x_fdw = not_ext("pg_foreign_data_wrapper", "w"),
        lancall = proc("l.lanplcallfoid"),
        laninline = proc("l.laninline"),
        lanvalidator = proc("l.lanvalidator"),
        x_lang = not_ext("pg_language", "l"),
        amhandler = proc("a.amhandler"),
        x_am = not_ext("pg_am", "a"),
        trffromsql = proc("tr.trffromsql"),
        trftosql = proc("tr.trftosql"),
        x_trf = not_ext("pg_transform", "tr"),
    ))
}

/// Adds the kinds of [`unmanaged_more`] to `m.unmanaged`.
pub async fn read(tx: &Transaction<'_>, m: &mut Model) -> Result<()> {
    query(tx, "more unmanaged objects", &unmanaged_more(), |r: Row| {
        let value: Option<String> = r.get(1);
        m.unmanaged.insert(r.get(0), value.unwrap_or_default());
        Ok(())
    })
    .await
}
